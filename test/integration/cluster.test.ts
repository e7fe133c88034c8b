/**
 * node:cluster workers and worker threads: the process that owns the monitoring port serves
 * every worker's breakers. Real forked workers and real threads, each with the preload.
 * Needs `npm run build` first.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, type NodeProcess, spawnNode } from '../helpers/child-process';
import { eventually } from '../helpers/eventually';
import { freePort, LOOPBACK } from '../helpers/free-port';
import { findSamples, parsePrometheus, sampleValue } from '../helpers/prometheus-text';

const REPO = path.resolve(__dirname, '..', '..');
const APP = path.join(REPO, 'test', 'fixtures', 'apps', 'cluster-app.js');
const REGISTER = path.join(REPO, 'dist', 'register.js');
const TOKEN = 'cluster-admin-token';

interface Health {
  status: string;
  unhealthy: string[];
  breakers: { name: string; state: string; worker?: string }[];
  workers?: { worker: string; pid: number }[];
}

describe('cluster workers and worker threads', function () {
  this.timeout(60_000);
  let dir: string;
  let app: NodeProcess | null = null;
  let base = '';

  async function startApp(env: Record<string, string>, preload = true): Promise<NodeProcess> {
    const port = await freePort();
    const config = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(
      config,
      `circuit_breakers:\n  auth:\n    failure_threshold: 2\n  monitoring:\n    port: ${port}\n    host: ${LOOPBACK}\n`,
    );
    base = `http://${LOOPBACK}:${port}`;
    app = spawnNode([...(preload ? ['--require', REGISTER] : []), APP], {
      env: cleanEnv({ BREAKERBOX_CONFIG: config, BREAKERBOX_ADMIN_TOKEN: TOKEN, ...env }),
      timeoutMs: 50_000,
    });
    return app;
  }

  const get = async (p: string): Promise<{ status: number; text: string }> => {
    const res = await fetch(base + p);
    return { status: res.status, text: await res.text() };
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-cluster-'));
  });
  afterEach(async () => {
    await app?.kill();
    app = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("serves every worker's breakers on the primary's port: summed counters, per-worker state, 503 and admin actions reaching the workers", async () => {
    const p = await startApp({ WORKERS: '2' });
    await p.waitForLine('workers ready', 20_000);

    const metrics = await eventually('both workers to be served', 10_000, async () => {
      const m = parsePrometheus((await get('/metrics')).text);
      const workers = new Set(findSamples(m, 'circuit_breaker_state', { breaker: 'auth' }).map((s) => s.labels.worker));
      return workers.has('1') && workers.has('2') ? m : undefined;
    });
    // Counters are summed over the workers: 5 successes in worker 2, 5 refusals in worker 1.
    const calls = { breaker: 'auth', module: 'manual', operation: 'execute' };
    expect(sampleValue(metrics, 'circuit_breaker_calls_total', { ...calls, outcome: 'success' })).to.equal(5);
    expect(sampleValue(metrics, 'circuit_breaker_calls_total', { ...calls, outcome: 'rejected' })).to.equal(5);
    expect(sampleValue(metrics, 'circuit_breaker_call_duration_seconds_count', { ...calls, outcome: 'success' })).to.equal(5);
    // The state gauge is kept per worker.
    const open = findSamples(metrics, 'circuit_breaker_state', { breaker: 'auth', state: 'forced_open' }).filter((s) => s.value === 1);
    expect(open.map((s) => s.labels.worker)).to.have.length(1);
    const workers = new Set(
      findSamples(metrics, 'circuit_breaker_state', { breaker: 'auth', state: 'closed' }).map((s) => s.labels.worker),
    );
    // The primary made no calls: it has no `auth` breaker of its own.
    expect([...workers].sort()).to.deep.equal(['1', '2']);

    const health = await get('/health/circuit-breakers');
    expect(health.status).to.equal(503);
    const body = JSON.parse(health.text) as Health;
    expect(body.unhealthy).to.deep.equal(['auth']);
    expect(body.workers?.map((w) => w.worker)).to.deep.equal(['primary', '1', '2']);
    expect(
      body.breakers
        .filter((b) => b.name === 'auth')
        .map((b) => `${b.state}`)
        .sort(),
    ).to.deep.equal(['closed', 'forced_open']);
    // Workers are numbered in the order they joined: which one forced `auth` open may vary.
    expect(
      body.breakers
        .filter((b) => b.name === 'auth')
        .map((b) => b.worker)
        .sort(),
    ).to.deep.equal(['1', '2']);
    expect((await get('/health/circuit-breakers/auth')).status).to.equal(503);

    const closed = await fetch(`${base}/circuit-breakers/auth/close`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(closed.status).to.equal(200);
    const acted = (await closed.json()) as { workers: { worker: string; state: string }[] };
    expect(acted.workers.map((w) => [w.worker, w.state])).to.deep.equal([
      ['1', 'closed'],
      ['2', 'closed'],
    ]);
    expect((await get('/health/circuit-breakers')).status).to.equal(200);

    // Nobody else tried to bind the port.
    expect(p.stderrLines.join('\n')).to.not.match(/could not listen|EADDRINUSE/);
  });

  it("serves a worker thread's breakers on the main thread's port", async () => {
    const p = await startApp({ THREADS: '1' });
    await p.waitForLine('thread ready', 20_000);
    // A thread joins the main thread's hub as it starts; its first calls may come first.
    const metrics = await eventually('the thread to be served', 10_000, async () => {
      const m = parsePrometheus((await get('/metrics')).text);
      return findSamples(m, 'circuit_breaker_state', { worker: 'thread-1' }).length > 0 ? m : undefined;
    });
    expect(sampleValue(metrics, 'circuit_breaker_state', { breaker: 'auth', state: 'forced_open', worker: 'thread-1' })).to.equal(1);
    expect(sampleValue(metrics, 'circuit_breaker_calls_total', { breaker: 'auth', outcome: 'rejected' })).to.equal(5);
    const health = await get('/health/circuit-breakers');
    expect(health.status).to.equal(503);
    expect((JSON.parse(health.text) as Health).breakers.find((b) => b.worker === 'thread-1' && b.name === 'auth')?.state).to.equal(
      'forced_open',
    );
  });

  it('lets a worker whose primary does not run breakerbox serve its own breakers', async () => {
    const p = await startApp({ WORKERS: '1', WORKER_PRELOAD: REGISTER }, false);
    await p.waitForLine('workers ready', 20_000);
    const health = await get('/health/circuit-breakers');
    expect(health.status).to.equal(503);
    const body = JSON.parse(health.text) as Health;
    expect(body.breakers.find((b) => b.name === 'auth')?.state).to.equal('forced_open');
    expect(body.workers).to.equal(undefined);
  });
});

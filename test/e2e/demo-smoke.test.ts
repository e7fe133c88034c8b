/**
 * `npm start` as a user runs it: the demo game server under `--require dist/register.js`,
 * from the package root, on the built-in defaults (no breakerbox.yaml); once against the
 * shared Postgres, once with neither Postgres nor NATS there. Only the ports are moved off
 * 8080/9464, so a demo already running on this machine does not get in the way.
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { spawnNode, type NodeProcess } from '../helpers/child-process';
import { REPO_ROOT } from '../helpers/dashboard-queries';
import { eventually } from '../helpers/eventually';
import { freePort } from '../helpers/free-port';
import { findSamples, parsePrometheus, type Exposition } from '../helpers/prometheus-text';
import { checkService, postgresAvailable } from '../helpers/require-services';

/** The command of `npm start` after its build step, relative to the package root. */
const NPM_START_ARGS = ['--require', './dist/register.js', 'examples/demo/server.js'];
const DEPENDENCY_BREAKERS = ['database', 'nats', 'websocket', 'file_system', 'auth'];

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

async function scrape(monitoringUrl: string): Promise<Exposition> {
  const { status, body } = await get(`${monitoringUrl}/metrics`);
  expect(status).to.equal(200);
  return parsePrometheus(body);
}

function total(metrics: Exposition, name: string, labels: Record<string, string>): number {
  return findSamples(metrics, name, labels).reduce((sum, s) => sum + s.value, 0);
}

interface Demo {
  app: NodeProcess;
  gameUrl: string;
  monitoringUrl: string;
}

/** Starts `npm start`'s command with `env` over the built-in defaults; resolves once it serves. */
async function startDemo(env: Record<string, string | undefined>): Promise<Demo> {
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'register.js'))) {
    throw new Error('dist/register.js is missing: run `npm run build` first (npm test and npm start do)');
  }
  const gamePort = await freePort();
  const monitoringPort = await freePort();
  const app = spawnNode(NPM_START_ARGS, {
    cwd: REPO_ROOT,
    env: {
      // Built-in defaults, as `npm start` on a fresh checkout: no config file named, and
      // the demo's own defaults for Postgres (127.0.0.1:5432, db test) and NATS.
      BREAKERBOX_CONFIG: undefined,
      PGHOST: undefined,
      PGPORT: undefined,
      NATS_URL: undefined,
      DEMO_DATA_DIR: undefined,
      DEMO_BOTS: undefined,
      DEMO_HTTP_PORT: String(gamePort),
      DEMO_HTTP_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(monitoringPort),
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_TRACES_EXPORTER: undefined,
      OTEL_METRICS_EXPORTER: undefined,
      ...env,
    },
    timeoutMs: 115_000,
  });
  await app.waitForLine(/game server listening on/, 30_000);
  await app.waitForLine(/metrics: http:\/\/localhost:\d+\/metrics/, 5_000);
  return { app, gameUrl: `http://127.0.0.1:${gamePort}`, monitoringUrl: `http://127.0.0.1:${monitoringPort}` };
}

async function expectCleanStop(app: NodeProcess): Promise<void> {
  const result = await app.kill('SIGTERM');
  expect(result.signal, `stderr:\n${result.stderr}`).to.equal(null);
  expect(result.code, `stderr:\n${result.stderr}`).to.equal(0);
  expect(result.stdout)
    .to.match(/SIGTERM: shutting down/)
    .and.to.match(/\bstopped\n/);
  expect(result.stderr).not.to.match(/TypeError|ReferenceError|Unhandled|uncaught/i);
}

describe('npm start: the demo game server under breakerbox', function () {
  // The database breaker stays open for the built-in 30 s before its trial call.
  this.timeout(120_000);

  let demo: Demo | undefined;

  before(async function () {
    await checkService(this, 'postgres', postgresAvailable);
    demo = await startDemo({});
  });

  after(async () => {
    await demo?.app.kill('SIGKILL');
  });

  it('serves /metrics with a breaker for each dependency the demo uses', async () => {
    await eventually('every dependency breaker in /metrics', 30_000, async () => {
      const names = new Set(findSamples(await scrape(demo!.monitoringUrl), 'circuit_breaker_state').map((s) => s.labels.breaker));
      const missing = DEPENDENCY_BREAKERS.filter((b) => !names.has(b));
      if (missing.length > 0) throw new Error(`no breaker ${missing.join(', ')} in /metrics yet`);
      return true;
    });
  });

  it('survives POST /chaos/postgres?seconds=3: the database breaker opens, then closes again', async () => {
    const { app, gameUrl, monitoringUrl } = demo!;
    const res = await fetch(`${gameUrl}/chaos/postgres?seconds=3`, { method: 'POST', signal: AbortSignal.timeout(5_000) });
    expect(res.status).to.equal(202);
    expect(await res.json()).to.include({ kind: 'postgres', seconds: 3 });

    await app.waitForLine(/breaker database: closed -> open/, 15_000);
    const open = await get(`${monitoringUrl}/health/circuit-breakers/database`);
    expect(JSON.parse(open.body)).to.have.property('state').that.is.oneOf(['open', 'half_open']);

    // The built-in open time is 30 s; the first trial call after it finds Postgres back.
    await app.waitForLine(/breaker database: half_open -> closed/, 60_000);
    const closed = await get(`${monitoringUrl}/health/circuit-breakers/database`);
    expect(closed.status).to.equal(200);
    expect(JSON.parse(closed.body)).to.have.property('state', 'closed');
    await app.waitForLine(/chaos: postgres is back/, 1_000);
    expect(app.child.exitCode, 'the demo is still running').to.equal(null);
  });

  it('stops cleanly on SIGTERM', async () => {
    await expectCleanStop(demo!.app);
  });
});

describe('npm start with neither Postgres nor NATS there', function () {
  this.timeout(60_000);

  let demo: Demo | undefined;

  before(async () => {
    // Ports nothing listens on: every connection attempt is refused.
    demo = await startDemo({ PGPORT: String(await freePort()), NATS_URL: `nats://127.0.0.1:${await freePort()}` });
  });

  after(async () => {
    await demo?.app.kill('SIGKILL');
  });

  it('opens the database and nats breakers and keeps the game going on the fallbacks', async () => {
    const { monitoringUrl } = demo!;
    const first = await eventually('database and nats breakers open, the player cache answering', 30_000, async () => {
      const metrics = await scrape(monitoringUrl);
      for (const breaker of ['database', 'nats']) {
        if (total(metrics, 'circuit_breaker_state', { breaker, state: 'open' }) !== 1) throw new Error(`${breaker} is not open yet`);
      }
      if (total(metrics, 'circuit_breaker_fallbacks_total', { breaker: 'database', result: 'success' }) === 0) {
        throw new Error('no player answered from the cache yet');
      }
      return metrics;
    });
    // The bots keep walking between rooms (room reads) and logging in (password hashing).
    const roomReads = (m: Exposition): number => total(m, 'circuit_breaker_calls_total', { breaker: 'file_system', outcome: 'success' });
    const later = await eventually('more room reads', 15_000, async () => {
      const metrics = await scrape(monitoringUrl);
      return roomReads(metrics) > roomReads(first) ? metrics : undefined;
    });
    expect(total(later, 'circuit_breaker_calls_total', { breaker: 'auth', outcome: 'success' })).to.be.greaterThan(0);
    expect(demo!.app.child.exitCode, 'the demo is still running').to.equal(null);
  });

  it('stops cleanly on SIGTERM', async () => {
    await expectCleanStop(demo!.app);
  });
});

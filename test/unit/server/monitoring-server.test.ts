import type { IncomingMessage, ServerResponse } from 'node:http';
import { expect } from 'chai';
import { parseConfig } from '../../../src/config';
import { BreakerRegistry } from '../../../src/registry';
import { createMonitoringServer, type MonitoringServer } from '../../../src/server/monitoring-server';
import { boom, FakeClock } from '../core/fake-clock';
import { freePort, LOOPBACK } from '../../helpers/free-port';

const TOKEN = 's3cret-token';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: () => Record<string, unknown>;
}

/** Every body the server sent in this file, to check none of them carries a stack trace. */
const bodies: string[] = [];

describe('monitoring server', () => {
  let server: MonitoringServer | null = null;
  let base = '';
  let registry: BreakerRegistry;

  async function start(
    opts: { adminToken?: string; metricsHandler?: ((req: IncomingMessage, res: ServerResponse) => void) | null } = {},
  ): Promise<void> {
    const port = await freePort();
    server = createMonitoringServer({
      registry,
      metricsHandler: opts.metricsHandler === undefined ? (_req, res) => res.end('# metrics here\n') : opts.metricsHandler,
      adminToken: opts.adminToken,
      host: LOOPBACK,
      port,
    });
    expect(await server.listen()).to.equal(port);
    base = `http://${LOOPBACK}:${port}`;
  }

  async function request(path: string, init: RequestInit = {}): Promise<Answer> {
    const res = await fetch(base + path, init);
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
  }

  const post = (path: string, token?: string): Promise<Answer> =>
    request(path, { method: 'POST', headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  beforeEach(() => {
    registry = new BreakerRegistry(parseConfig('api:\n  per_target: true\n', '/srv/app/breakerbox.yaml', { env: {}, cwd: '/srv/app' }));
  });
  afterEach(async () => {
    await server?.close();
    server = null;
  });
  after(() => {
    expect(bodies.length).to.be.greaterThan(20);
    for (const body of bodies) expect(body).to.not.match(/\n\s+at /);
  });

  describe('GET /health/circuit-breakers', () => {
    it('answers 200 with every breaker when none refuses calls', async () => {
      registry.get('auth');
      registry.get('billing').disable();
      await start();
      const res = await request('/health/circuit-breakers');
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^application\/json/);
      const body = res.json();
      expect(body).to.include({ status: 'ok' });
      expect(body.unhealthy).to.deep.equal([]);
      expect((body.breakers as { name: string; state: string }[]).map((b) => [b.name, b.state])).to.deep.equal([
        ['auth', 'closed'],
        ['billing', 'disabled'],
      ]);
    });

    it('answers 503 naming the breakers that are open or forced open', async () => {
      const auth = registry.get('auth', { failureThreshold: 1 });
      await auth.execute(() => Promise.reject(boom())).catch(() => undefined);
      registry.get('billing').forceOpen();
      registry.get('search');
      await start();
      const res = await request('/health/circuit-breakers');
      expect(res.status).to.equal(503);
      expect(res.json()).to.deep.include({ status: 'unhealthy', unhealthy: ['auth', 'billing'] });
    });

    it('answers 200 while a breaker is half-open: it is probing, not refusing', async () => {
      const clock = new FakeClock();
      const auth = registry.get('auth', { failureThreshold: 1, resetTimeoutMs: 1_000, now: clock.now });
      await auth.execute(() => Promise.reject(boom())).catch(() => undefined);
      clock.advance(1_000);
      let finishTrial!: () => void;
      const trial = auth.execute(() => new Promise<void>((resolve) => (finishTrial = resolve)));
      expect(auth.state).to.equal('half_open');
      await start();
      const res = await request('/health/circuit-breakers');
      expect(res.status).to.equal(200);
      expect((res.json().breakers as { state: string }[]).map((b) => b.state)).to.deep.equal(['half_open']);
      expect((await request('/health/circuit-breakers/auth')).status).to.equal(200);
      finishTrial();
      await trial;
    });

    it('answers HEAD with the status and no body', async () => {
      registry.get('auth').forceOpen();
      await start();
      const res = await request('/health/circuit-breakers', { method: 'HEAD' });
      expect(res.status).to.equal(503);
      expect(res.text).to.equal('');
    });
  });

  describe('GET /health/circuit-breakers/{name}', () => {
    it('answers one breaker with 200, or 503 when it refuses calls', async () => {
      registry.get('auth');
      registry.get('billing').forceOpen();
      await start();
      const ok = await request('/health/circuit-breakers/auth');
      expect(ok.status).to.equal(200);
      expect(ok.json()).to.include({ name: 'auth', state: 'closed', module: 'manual' });
      const refused = await request('/health/circuit-breakers/billing');
      expect(refused.status).to.equal(503);
      expect(refused.json()).to.include({ name: 'billing', state: 'forced_open', retryAfterMs: null });
    });

    it('answers 404 for a breaker it does not know', async () => {
      await start();
      const res = await request('/health/circuit-breakers/nope');
      expect(res.status).to.equal(404);
      expect(res.json().error).to.include('nope');
      expect((await request('/health/circuit-breakers/%E0%A4%A')).status).to.equal(404);
    });

    it('finds per-target children whose names hold "@", ":" and "/" when the name is URL-encoded', async () => {
      const child = registry.child('api', 'https://pay.example.com:8443/v1').breaker;
      child.forceOpen();
      registry.child('api', 'db-a:5432');
      await start();
      const res = await request(`/health/circuit-breakers/${encodeURIComponent('api@https://pay.example.com:8443/v1')}`);
      expect(res.status).to.equal(503);
      expect(res.json()).to.include({
        name: 'api@https://pay.example.com:8443/v1',
        parent: 'api',
        target: 'https://pay.example.com:8443/v1',
      });
      // "@" and ":" need no encoding in a path.
      const plain = await request('/health/circuit-breakers/api@db-a:5432');
      expect(plain.status).to.equal(200);
      expect(plain.json()).to.include({ name: 'api@db-a:5432' });
    });
  });

  describe('GET /metrics/circuit-breakers', () => {
    it('answers counts, failure rate, latency percentiles and the last transition of every breaker', async () => {
      const auth = registry.get('auth', { failureThreshold: 2 });
      await auth.execute(async () => 'ok');
      await auth.execute(() => Promise.reject(boom())).catch(() => undefined);
      await auth.execute(() => Promise.reject(boom())).catch(() => undefined);
      await auth.execute(async () => 'ok').catch(() => undefined);
      await start();
      const res = await request('/metrics/circuit-breakers');
      expect(res.status).to.equal(200);
      const [stats] = res.json().breakers as Record<string, unknown>[];
      expect(stats).to.include({ name: 'auth', module: 'manual', state: 'open', failureRate: 2 / 3 });
      expect(stats.calls).to.deep.equal({ success: 1, failure: 2, ignored: 0, rejected: 1, timeout: 0 });
      expect(stats.fallbacks).to.deep.equal({ success: 0, failure: 0 });
      expect(stats.latencySeconds).to.have.all.keys('p50', 'p95', 'p99');
      expect((stats.latencySeconds as { p50: number }).p50).to.be.a('number');
      expect(stats.lastTransition).to.include({ from: 'closed', to: 'open', reason: 'failure_threshold' });
      expect(stats.recoveries).to.deep.equal({ count: 0, totalSeconds: 0 });
    });
  });

  describe('GET /metrics', () => {
    it('hands the request to the metrics handler', async () => {
      await start();
      const res = await request('/metrics');
      expect(res.status).to.equal(200);
      expect(res.text).to.equal('# metrics here\n');
    });

    it('answers 503 when metrics are off', async () => {
      await start({ metricsHandler: null });
      const res = await request('/metrics');
      expect(res.status).to.equal(503);
      expect(res.json().error).to.match(/disabled/);
    });

    it('answers 405 to POST, saying which methods are allowed', async () => {
      await start();
      const res = await request('/metrics', { method: 'POST' });
      expect(res.status).to.equal(405);
      expect(res.headers.get('allow')).to.equal('GET, HEAD');
    });

    it('answers 500 without details when the handler throws, and keeps serving', async () => {
      await start({
        metricsHandler: () => {
          throw new Error('exporter exploded');
        },
      });
      const res = await request('/metrics');
      expect(res.status).to.equal(500);
      expect(res.text).to.not.include('exploded');
      expect((await request('/health/circuit-breakers')).status).to.equal(200);
    });
  });

  describe('admin routes', () => {
    it('answers 401 to every action when no admin token is configured, and changes nothing', async () => {
      const auth = registry.get('auth');
      await start();
      for (const token of [undefined, '', TOKEN, 'undefined']) {
        const res = await post('/circuit-breakers/auth/open', token);
        expect(res.status, `token ${String(token)}`).to.equal(401);
        expect(res.headers.get('www-authenticate')).to.equal('Bearer');
      }
      expect(auth.state).to.equal('closed');
    });

    it('answers 401 to a wrong or missing token, and changes nothing', async () => {
      const auth = registry.get('auth');
      await start({ adminToken: TOKEN });
      expect((await post('/circuit-breakers/auth/open')).status).to.equal(401);
      expect((await post('/circuit-breakers/auth/open', 'wrong')).status).to.equal(401);
      expect((await post('/circuit-breakers/auth/open', `${TOKEN}x`)).status).to.equal(401);
      const basic = await request('/circuit-breakers/auth/open', { method: 'POST', headers: { authorization: `Basic ${TOKEN}` } });
      expect(basic.status).to.equal(401);
      expect(auth.state).to.equal('closed');
    });

    it('runs open, close, disable, enable and reset with the right token', async () => {
      const auth = registry.get('auth', { failureThreshold: 3 });
      await auth.execute(() => Promise.reject(boom())).catch(() => undefined);
      await start({ adminToken: TOKEN });

      const steps: [string, string, string][] = [
        ['open', 'closed', 'forced_open'],
        ['close', 'forced_open', 'closed'],
        ['disable', 'closed', 'disabled'],
        ['enable', 'disabled', 'closed'],
        ['reset', 'closed', 'closed'],
      ];
      for (const [action, from, to] of steps) {
        const res = await post(`/circuit-breakers/auth/${action}`, TOKEN);
        expect(res.status, action).to.equal(200);
        expect(res.json()).to.deep.equal({ breaker: 'auth', action, from, state: to });
        expect(auth.state).to.equal(to);
      }
      expect((await request('/health/circuit-breakers/auth')).json()).to.include({ consecutiveFailures: 0 });
    });

    it('acts on a per-target child named with "@", ":" and "/"', async () => {
      const child = registry.child('api', 'https://pay.example.com:8443/v1').breaker;
      await start({ adminToken: TOKEN });
      const res = await post(`/circuit-breakers/${encodeURIComponent(child.name)}/open`, TOKEN);
      expect(res.status).to.equal(200);
      expect(child.state).to.equal('forced_open');
    });

    it('answers 404 for an unknown breaker or action, with the right token', async () => {
      registry.get('auth');
      await start({ adminToken: TOKEN });
      expect((await post('/circuit-breakers/nope/open', TOKEN)).status).to.equal(404);
      expect((await post('/circuit-breakers/auth/explode', TOKEN)).status).to.equal(404);
      expect((await post('/circuit-breakers/open', TOKEN)).status).to.equal(404);
    });

    it('answers 405 to GET on an admin route, saying POST is the way', async () => {
      const auth = registry.get('auth');
      await start({ adminToken: TOKEN });
      const res = await request('/circuit-breakers/auth/open', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).to.equal(405);
      expect(res.headers.get('allow')).to.equal('POST');
      expect(auth.state).to.equal('closed');
    });
  });

  describe('per-target parents', () => {
    it('answers 503 for a parent while one of its targets refuses calls, naming the target', async () => {
      registry.child('api', 'a:1');
      registry.child('api', 'b:1').breaker.forceOpen();
      await start();
      const res = await request('/health/circuit-breakers/api');
      expect(res.status).to.equal(503);
      expect(res.json()).to.deep.include({
        state: 'closed',
        targets: {
          worstState: 'forced_open',
          count: 2,
          byState: { closed: 1, open: 0, half_open: 0, forced_open: 1, disabled: 0 },
          refusing: ['b:1'],
        },
      });
      const stats = (await request('/metrics/circuit-breakers')).json().breakers as { name: string; targets?: { refusing: string[] } }[];
      expect(stats.find((b) => b.name === 'api')?.targets?.refusing).to.deep.equal(['b:1']);
    });

    it('applies an admin action on the parent to every one of its targets', async () => {
      const a = registry.child('api', 'a:1').breaker;
      const b = registry.child('api', 'b:1').breaker;
      await start({ adminToken: TOKEN });
      const opened = await post('/circuit-breakers/api/open', TOKEN);
      expect(opened.json()).to.include({ breaker: 'api', state: 'forced_open', targets: 2 });
      expect([a.state, b.state]).to.deep.equal(['forced_open', 'forced_open']);
      // A target seen for the first time while the parent is forced open starts forced open too.
      expect(registry.child('api', 'c:1').breaker.state).to.equal('forced_open');
      await post('/circuit-breakers/api/close', TOKEN);
      expect(registry.list().map((e) => e.breaker.state)).to.deep.equal(['closed', 'closed', 'closed', 'closed']);
    });
  });

  describe('health scope', () => {
    it("leaves advisory breakers (metrics_only, a ws server's slow-consumer breaker) out with ?scope=enforced", async () => {
      registry = new BreakerRegistry(
        parseConfig('websocket:\n  per_target: true\nshadow:\n  mode: metrics_only\n  failure_threshold: 1\n', '/srv/app/breakerbox.yaml', {
          env: {},
          cwd: '/srv/app',
        }),
      );
      registry.child('websocket', 'server:8080').breaker.forceOpen();
      const shadow = registry.get('shadow');
      await shadow.execute(() => Promise.reject(boom())).catch(() => undefined);
      expect(shadow.state).to.equal('open');
      await start();
      const all = await request('/health/circuit-breakers');
      expect(all.status).to.equal(503);
      expect(all.json().unhealthy).to.deep.equal(['websocket', 'websocket@server:8080', 'shadow']);
      const enforced = await request('/health/circuit-breakers?scope=enforced');
      expect(enforced.status).to.equal(200);
      expect((enforced.json().breakers as { name: string }[]).map((b) => b.name)).to.deep.equal(['websocket']);
      registry.child('websocket', 'ws://peer:80').breaker.forceOpen();
      expect((await request('/health/circuit-breakers?scope=enforced')).status).to.equal(503);
    });

    it('refuses an unknown scope with 400, naming the value and the accepted ones', async () => {
      await start();
      const res = await request('/health/circuit-breakers?scope=ready');
      expect(res.status).to.equal(400);
      expect(res.json().error).to.equal('scope="ready": expected one of all, enforced');
    });
  });

  describe('paths joined badly by proxies', () => {
    it('answers the route for repeated slashes such as //health/circuit-breakers and //metrics', async () => {
      registry.get('auth').forceOpen();
      await start();
      const health = await request('//health/circuit-breakers');
      expect(health.status).to.equal(503);
      expect(health.json().unhealthy).to.deep.equal(['auth']);
      expect((await request('/health//circuit-breakers/auth')).json()).to.include({ name: 'auth', state: 'forced_open' });
      expect((await request('//metrics')).text).to.equal('# metrics here\n');
    });
  });

  describe('anything else', () => {
    it('answers 404 for unknown paths and 405 for writes to read-only routes', async () => {
      await start();
      expect((await request('/')).status).to.equal(404);
      expect((await request('/healthz')).status).to.equal(404);
      expect((await request('/health/circuit-breakers', { method: 'DELETE' })).status).to.equal(405);
      expect((await request('/metrics/circuit-breakers', { method: 'PUT' })).status).to.equal(405);
    });

    it('reports a port it cannot bind as a rejected listen() instead of crashing', async () => {
      await start();
      const port = Number(new URL(base).port);
      const second = createMonitoringServer({ registry, metricsHandler: null, adminToken: undefined, host: LOOPBACK, port });
      const err = await second.listen().catch((e: NodeJS.ErrnoException) => e);
      expect(err).to.have.property('code', 'EADDRINUSE');
      await second.close();
    });
  });
});

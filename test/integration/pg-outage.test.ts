/**
 * Real outages: a private Postgres stopped with `-m immediate`, and network faults from the
 * TCP fault proxy (refused, black-holed, reset mid-query). The breaker opens on them, then
 * refuses calls without touching the socket, half-opens after its timeout and closes once
 * a trial succeeds against the restarted server.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { trackPg } from '../helpers/pg-tracked';
import { checkService, pgBinariesAvailable } from '../helpers/require-services';
import { startTcpFaultProxy, type TcpFaultProxy } from '../helpers/tcp-fault-proxy';
import {
  flush,
  instrumentPg,
  pgThroughProxy,
  opCounts,
  rejectionOf,
  SHARED_PG,
  totals,
  watchUnhandled,
  type Pg,
  type PgHarness,
} from './pg-harness';

type Client = InstanceType<Pg['Client']>;
type Pool = InstanceType<Pg['Pool']>;

describe('pg patcher: a private Postgres goes down and comes back', function () {
  this.timeout(90_000);
  let server: PrivatePostgres;
  let proxy: TcpFaultProxy;
  let h: PgHarness;
  const made = trackPg(() => h.pg);

  before(async function () {
    await checkService(this, 'postgres server binaries', pgBinariesAvailable);
    server = await startPrivatePostgres({ maxConnections: 10 });
    proxy = await startTcpFaultProxy({ targetPort: server.port });
    h = instrumentPg(`
circuit_breakers:
  database:
    failure_threshold: 3
    timeout: 0.5
    operations: [connect, query]
`);
    expect(h.patched()).to.equal(true);
  });

  after(async () => {
    h?.instrumentation.disable();
    await made.endAll();
    await proxy?.close();
    await server?.cleanup();
  });

  function newClient(): Client {
    return made.client({ ...server.clientConfig(), host: proxy.host, port: proxy.port, connectionTimeoutMillis: 5000 });
  }

  // One outage, told in steps that share the pool, the idle client and what the proxy saw.
  describe('opens after failure_threshold failures, refuses without I/O, half-opens after the timeout and closes after a good trial', () => {
    let unhandled: ReturnType<typeof watchUnhandled>;
    let pool: Pool;
    let idle: Client;
    let accepted = 0;

    before(() => {
      unhandled = watchUnhandled();
    });

    after(() => {
      unhandled?.stop();
    });

    it('step 1: serves a pool query and connects a client while the server is up', async () => {
      pool = made.pool({ ...server.clientConfig(), host: proxy.host, port: proxy.port, max: 2, connectionTimeoutMillis: 5000 });
      expect((await pool.query('SELECT 1 AS ok')).rows).to.deep.equal([{ ok: 1 }]);
      idle = newClient();
      await idle.connect();
    });

    it('step 2: opens after failure_threshold (3) real query failures once the server is stopped', async () => {
      await server.stop('immediate');
      const failures: string[] = [];
      for (let i = 0; i < 3; i++) {
        const err = await rejectionOf(pool.query('SELECT 1'));
        expect(err.code).to.not.equal('ECIRCUITOPEN');
        failures.push(err.code ?? err.message);
      }
      expect(h.entry().breaker.state, `after ${failures.join(', ')}`).to.equal('open');
      expect(opCounts(h.entry(), 'query').failure).to.equal(3);
    });

    it('step 3: while open, refuses pool.query, pool.connect, a new client and an idle client without a connection or a pool client made', async () => {
      accepted = proxy.accepted;
      const poolClients = pool.totalCount;
      const refusals = [
        await rejectionOf(pool.query('SELECT 1')),
        await rejectionOf(pool.connect()),
        await rejectionOf(newClient().connect()),
        await rejectionOf(idle.query('SELECT 1')),
      ];
      for (const err of refusals) {
        expect(err.code).to.equal('ECIRCUITOPEN');
        expect((err as unknown as { retryAfterMs: number }).retryAfterMs).to.be.within(0, 500);
      }
      expect(proxy.accepted).to.equal(accepted);
      expect(pool.totalCount).to.equal(poolClients);
      expect(totals(h.entry()).rejected).to.equal(4);
    });

    it('step 4: after the reset timeout lets one trial reach the server; it is still down, so the breaker reopens', async () => {
      await sleep(600);
      const trial = await rejectionOf(pool.query('SELECT 1'));
      expect(trial.code).to.not.equal('ECIRCUITOPEN');
      expect(h.entry().breaker.state).to.equal('open');
      expect(proxy.accepted).to.be.greaterThan(accepted);
      expect((await rejectionOf(pool.query('SELECT 1'))).code).to.equal('ECIRCUITOPEN');
    });

    it('step 5: once the server is back and the timeout has passed, a good trial closes it and a new client works', async () => {
      await server.start();
      await sleep(600);
      expect((await pool.query('SELECT 2 AS ok')).rows).to.deep.equal([{ ok: 2 }]);
      expect(h.entry().breaker.state).to.equal('closed');
      const fresh = newClient();
      await fresh.connect();
      expect((await fresh.query('SELECT 3 AS ok')).rows).to.deep.equal([{ ok: 3 }]);
    });

    it('step 6: left no unhandled rejection along the way', async () => {
      await flush();
      expect(unhandled.reasons).to.deep.equal([]);
    });
  });
});

describe('pg patcher: network faults through the TCP fault proxy (shared Postgres)', function () {
  this.timeout(60_000);
  let h: PgHarness;
  let proxy: TcpFaultProxy;
  // A high threshold: each test looks at how one fault is counted, not at opening.
  const made = pgThroughProxy(
    `
circuit_breakers:
  database:
    failure_threshold: 100
    timeout: 0.5
`,
    (p) => ({ h, proxy } = p),
  );

  function through(extra: Record<string, unknown> = {}): Client {
    return made.client({ ...SHARED_PG, host: proxy.host, port: proxy.port, ...extra });
  }

  function poolThrough(extra: Record<string, unknown> = {}): Pool {
    return made.pool({ ...SHARED_PG, host: proxy.host, port: proxy.port, ...extra });
  }

  function delta(run: () => Promise<void>): Promise<{ connect: Record<string, number>; query: Record<string, number> }> {
    const before = { connect: opCounts(h.entry(), 'connect'), query: opCounts(h.entry(), 'query') };
    return run().then(() => {
      const diff = (a: Record<string, number>, b: Record<string, number>): Record<string, number> =>
        Object.fromEntries(
          Object.keys(a)
            .map((k) => [k, a[k] - b[k]])
            .filter(([, v]) => v !== 0),
        );
      return { connect: diff(opCounts(h.entry(), 'connect'), before.connect), query: diff(opCounts(h.entry(), 'query'), before.query) };
    });
  }

  it('counts a refused connection (ECONNREFUSED) as a connect failure', async () => {
    await proxy.setMode('refuse');
    const d = await delta(async () => {
      const err = await rejectionOf(through().connect());
      expect(err.code).to.equal('ECONNREFUSED');
    });
    expect(d).to.deep.equal({ connect: { failure: 1 }, query: {} });
  });

  it('counts a pool.query on a refused pool once, as a query failure', async () => {
    await proxy.setMode('refuse');
    const pool = poolThrough();
    const d = await delta(async () => {
      const err = await rejectionOf(pool.query('SELECT 1'));
      expect(err.code).to.equal('ECONNREFUSED');
    });
    expect(d).to.deep.equal({ connect: {}, query: { failure: 1 } });
  });

  it('counts a black-holed connect that hits connectionTimeoutMillis, as a timeout', async () => {
    await proxy.setMode('blackhole');
    const d = await delta(async () => {
      const err = await rejectionOf(through({ connectionTimeoutMillis: 300 }).connect());
      expect(err.message).to.match(/timeout/i);
    });
    expect(d).to.deep.equal({ connect: { timeout: 1 }, query: {} });
  });

  it('counts a black-holed pool checkout that hits the pool connect timeout, as a timeout', async () => {
    await proxy.setMode('blackhole');
    const pool = poolThrough({ connectionTimeoutMillis: 300 });
    const d = await delta(async () => {
      const err = await rejectionOf(pool.connect());
      expect(err.message).to.equal('Connection terminated due to connection timeout');
    });
    expect(d).to.deep.equal({ connect: { timeout: 1 }, query: {} });
  });

  it('counts a connection cut mid-query ("Connection terminated unexpectedly")', async () => {
    const client = through();
    await client.connect();
    proxy.closeAfterBytes(0, 'downstream');
    const d = await delta(async () => {
      const err = await rejectionOf(client.query('SELECT pg_sleep(0.05)'));
      expect(err.message).to.equal('Connection terminated unexpectedly');
    });
    expect(d).to.deep.equal({ connect: {}, query: { failure: 1 } });
  });

  it('counts a connection reset mid-query', async () => {
    const client = through();
    await client.connect();
    proxy.resetAfterBytes(0);
    const d = await delta(async () => {
      const err = await rejectionOf(client.query('SELECT 1'));
      expect(['ECONNRESET', undefined]).to.include(err.code);
      expect(err.message).to.match(/ECONNRESET|Connection terminated unexpectedly/);
    });
    expect(d).to.deep.equal({ connect: {}, query: { failure: 1 } });
  });

  it('counts a pool.query whose connection is cut mid-query once', async () => {
    const pool = poolThrough();
    await pool.query('SELECT 1');
    proxy.closeAfterBytes(0, 'downstream');
    const d = await delta(async () => {
      const err = await rejectionOf(pool.query('SELECT pg_sleep(0.05)'));
      expect(err.message).to.equal('Connection terminated unexpectedly');
    });
    expect(d).to.deep.equal({ connect: {}, query: { failure: 1 } });
  });
});

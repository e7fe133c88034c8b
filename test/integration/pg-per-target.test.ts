/**
 * `per_target: true`: one child breaker per host:port/database. A failing target opens its
 * own child only; the others, and the parent, stay closed.
 */
import { expect } from 'chai';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { trackPg } from '../helpers/pg-tracked';
import { checkService, pgBinariesAvailable, postgresAvailable, requireService } from '../helpers/require-services';
import { startTcpFaultProxy, type TcpFaultProxy } from '../helpers/tcp-fault-proxy';
import { instrumentPg, rejectionOf, SHARED_PG, type Pg, type PgHarness } from './pg-harness';

type Client = InstanceType<Pg['Client']>;
type Pool = InstanceType<Pg['Pool']>;

describe('pg patcher: per-target breakers', function () {
  this.timeout(60_000);
  let proxy: TcpFaultProxy;
  let h: PgHarness;
  const made = trackPg(() => h.pg);
  let privatePg: PrivatePostgres | undefined;

  const direct = `${SHARED_PG.host}:${SHARED_PG.port}/${SHARED_PG.database}`;

  before(requireService('postgres', postgresAvailable));
  before(async () => {
    proxy = await startTcpFaultProxy({ targetPort: SHARED_PG.port });
    h = instrumentPg(`
circuit_breakers:
  database:
    failure_threshold: 2
    timeout: 30
    per_target: true
`);
    expect(h.patched()).to.equal(true);
  });
  after(async () => {
    h?.instrumentation.disable();
    await made.endAll();
    await proxy?.close();
    await privatePg?.cleanup();
  });

  const client = (config: Record<string, unknown>): Client => made.client(config);
  const pool = (config: Record<string, unknown>): Pool => made.pool(config);

  it('gives each host:port/database its own breaker; a failing one does not open the other', async () => {
    const viaProxy = `${proxy.host}:${proxy.port}/${SHARED_PG.database}`;
    const proxied = { ...SHARED_PG, host: proxy.host, port: proxy.port };
    const a = client(SHARED_PG);
    await a.connect();
    const b = client(proxied);
    await b.connect();
    await a.query('SELECT 1');
    await b.query('SELECT 1');
    expect(h.registry.has(`database@${direct}`)).to.equal(true);
    expect(h.registry.has(`database@${viaProxy}`)).to.equal(true);

    await proxy.setMode('refuse');
    for (let i = 0; i < 2; i++) expect((await rejectionOf(client(proxied).connect())).code).to.equal('ECONNREFUSED');
    const failing = h.registry.entry(`database@${viaProxy}`);
    expect(failing.breaker.state).to.equal('open');

    const err = await rejectionOf(client(proxied).connect());
    expect(err.code).to.equal('ECIRCUITOPEN');
    expect((err as unknown as { breaker: string }).breaker).to.equal(`database@${viaProxy}`);
    expect((await rejectionOf(pool(proxied).query('SELECT 1'))).code).to.equal('ECIRCUITOPEN');

    // The other target, and the parent, are untouched.
    expect(h.registry.entry(`database@${direct}`).breaker.state).to.equal('closed');
    expect(h.entry().breaker.state).to.equal('closed');
    expect((await a.query('SELECT 2 AS ok')).rows).to.deep.equal([{ ok: 2 }]);
    const c = client(SHARED_PG);
    await c.connect();
    expect((await pool(SHARED_PG).query('SELECT 3 AS ok')).rows).to.deep.equal([{ ok: 3 }]);
    await proxy.setMode('pass');
  });

  it('keys a pool by what its clients will connect to (connection strings included)', async () => {
    const p = pool({ connectionString: `postgres://${SHARED_PG.user}@${SHARED_PG.host}:${SHARED_PG.port}/${SHARED_PG.database}` });
    const entry = h.registry.entry(`database@${direct}`);
    const before = entry.stats.totals();
    await p.query('SELECT 1');
    const checkedOut = await p.connect();
    await checkedOut.query('SELECT 1');
    checkedOut.release();
    const after = entry.stats.totals();
    // Two queries; the checkout of the client pool.query left idle did no I/O (ignored).
    expect(after.success - before.success).to.equal(2);
    expect(after.ignored - before.ignored).to.equal(1);
  });

  it('uses a unix socket directory as the host of the target', async function () {
    await checkService(this, 'postgres server binaries', pgBinariesAvailable);
    privatePg = await startPrivatePostgres({ maxConnections: 5 });
    const c = client({ ...privatePg.clientConfig(), host: privatePg.socketDir });
    await c.connect();
    await c.query('SELECT 1');
    const target = `${privatePg.socketDir}:${privatePg.port}/${privatePg.database}`;
    expect(h.registry.has(`database@${target}`)).to.equal(true);
    expect(h.registry.entry(`database@${target}`).stats.totals().success).to.equal(2);
  });
});

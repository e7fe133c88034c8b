/**
 * What the database breaker takes as evidence, against the shared Postgres: only work that
 * touched the database moves it. An idle pooled client handed out is neither a success nor
 * a half-open trial; pg's own query_timeout on a hung server is a timeout, not a pass.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { TcpFaultProxy } from '../helpers/tcp-fault-proxy';
import { pgThroughProxy, opCounts, rejectionOf, SHARED_PG, type PgHarness } from './pg-harness';

/** A real server answer with SQLSTATE 53100 (disk full), which counts as an outage. */
const DISK_FULL = `DO $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = '53100'; END $$`;
const RESET_MS = 300;

describe('pg patcher: only a round trip to the database is evidence', function () {
  this.timeout(30_000);
  let h: PgHarness;
  let proxy: TcpFaultProxy;
  const made = pgThroughProxy(
    `
circuit_breakers:
  database:
    failure_threshold: 3
    timeout: ${RESET_MS}ms
    operations: [connect, query]
`,
    (p) => ({ h, proxy } = p),
    (p) => p.h.entry().breaker.reset(),
  );

  /** Opens the breaker with real 53100 answers on a checked-out client, which then goes back to the pool idle. */
  async function openWithFailures(pool: InstanceType<PgHarness['pg']['Pool']>): Promise<void> {
    const client = await pool.connect();
    for (let i = 0; i < 3; i++) expect((await rejectionOf(client.query(DISK_FULL))).code).to.equal('53100');
    client.release();
    expect(h.entry().breaker.state).to.equal('open');
  }

  it('opens on checkout-then-query failures exactly like pool.query: idle checkouts do not reset the streak', async () => {
    const pool = made.pool({ ...SHARED_PG, max: 2 });
    const before = opCounts(h.entry(), 'connect');
    const codes: string[] = [];
    // The usual checkout pattern, ten times over: connect, query, release.
    for (let i = 0; i < 10; i++) {
      let client;
      try {
        client = await pool.connect();
      } catch (err) {
        codes.push((err as { code?: string }).code ?? 'no code');
        break;
      }
      try {
        await client.query(DISK_FULL);
        codes.push('ok');
      } catch (err) {
        codes.push((err as { code?: string }).code ?? 'no code');
      } finally {
        client.release();
      }
    }
    // Three failed queries open it; the fourth checkout is refused (no transaction may start).
    expect(codes).to.deep.equal(['53100', '53100', '53100', 'ECIRCUITOPEN']);
    expect(h.entry().breaker.state).to.equal('open');
    // One real connect, two idle hand-outs that say nothing, one refusal.
    const after = opCounts(h.entry(), 'connect');
    const delta = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]));
    expect(delta).to.deep.equal({ success: 1, ignored: 2, rejected: 1, failure: 0, timeout: 0 });
    expect(pool.totalCount).to.equal(1);
  });

  it('half-open: an idle checkout is not the trial and does not close; the query that follows decides', async () => {
    const pool = made.pool({ ...SHARED_PG, max: 2 });
    await openWithFailures(pool);
    await sleep(RESET_MS + 50);

    const breaker = h.entry().breaker;
    expect(pool.idleCount).to.equal(1);
    const client = await pool.connect();
    try {
      expect(breaker.state, 'after an idle checkout').to.equal('half_open');
      expect((await rejectionOf(client.query(DISK_FULL))).code).to.equal('53100');
      expect(breaker.state, 'after the failed trial query').to.equal('open');
    } finally {
      client.release();
    }
    expect((await rejectionOf(pool.connect())).code).to.equal('ECIRCUITOPEN');

    await sleep(RESET_MS + 50);
    const again = await pool.connect();
    try {
      expect(breaker.state).to.equal('half_open');
      expect((await again.query('SELECT 1 AS ok')).rows).to.deep.equal([{ ok: 1 }]);
      expect(breaker.state, 'after a real round trip').to.equal('closed');
    } finally {
      again.release();
    }
  });

  it('half-open: a checkout that connects a new client is a real round trip and closes', async () => {
    const pool = made.pool({ ...SHARED_PG, max: 2, idleTimeoutMillis: 1 });
    await openWithFailures(pool);
    await sleep(RESET_MS + 50);
    expect(pool.totalCount, 'idle clients timed out').to.equal(0);
    const client = await pool.connect();
    client.release();
    expect(h.entry().breaker.state).to.equal('closed');
  });

  it('half-open: pg query_timeout on a hung server is a timeout and reopens the breaker', async () => {
    const client = made.client({ ...SHARED_PG, host: proxy.host, port: proxy.port, query_timeout: 200 });
    await client.connect();
    for (let i = 0; i < 3; i++) expect((await rejectionOf(client.query(DISK_FULL))).code).to.equal('53100');
    const breaker = h.entry().breaker;
    expect(breaker.state).to.equal('open');
    await sleep(RESET_MS + 50);

    // The server hangs: the connection is up but nothing comes back.
    await proxy.setMode('blackhole');
    const before = opCounts(h.entry(), 'query');
    const err = await rejectionOf(client.query('SELECT 1'));
    expect(err.message).to.equal('Query read timeout');
    expect(breaker.state).to.equal('open');
    expect(opCounts(h.entry(), 'query').timeout - before.timeout).to.equal(1);
  });

  it('closed: query_timeout on a hung server counts towards opening', async () => {
    const client = made.client({ ...SHARED_PG, host: proxy.host, port: proxy.port, query_timeout: 150 });
    await client.connect();
    await proxy.setMode('blackhole');
    const before = opCounts(h.entry(), 'query').timeout;
    for (let i = 0; i < 3; i++) expect((await rejectionOf(client.query('SELECT 1'))).message).to.equal('Query read timeout');
    expect(h.entry().breaker.state).to.equal('open');
    expect(opCounts(h.entry(), 'query').timeout - before).to.equal(3);
  });
});

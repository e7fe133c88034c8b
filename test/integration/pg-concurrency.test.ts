/**
 * A concurrency limit on the pg breaker against the shared Postgres: calls over the limit are
 * refused at once, in the shape pg gives errors for that call form, without a connection;
 * statements of an open transaction are never refused; under a burst, the limit bounds what
 * reaches pg-pool (its wait queue included).
 */
import { expect } from 'chai';
import { ConcurrencyLimitError } from '../../src/core';
import { postgresAvailable, requireService } from '../helpers/require-services';
import { flush, instrumentPg, rejectionOf, SHARED_PG, totals, watchUnhandled, type Pg, type PgHarness } from './pg-harness';

type Pool = InstanceType<Pg['Pool']>;
type Client = InstanceType<Pg['Client']>;
type PoolClient = Client & { release: (err?: Error | boolean) => void };

const LIMIT = 3;
const TABLE = `breakerbox_pg_limit_${process.pid}`;
const SLEEP = 'SELECT pg_sleep(0.3)';

function limited(err: unknown): void {
  expect(err).to.be.instanceOf(ConcurrencyLimitError);
  expect((err as ConcurrencyLimitError).code).to.equal('ECONCURRENCYLIMIT');
  expect((err as ConcurrencyLimitError).breaker).to.equal('database');
  expect((err as ConcurrencyLimitError).limit).to.equal(LIMIT);
}

describe('pg patcher: concurrency limit (shared Postgres)', function () {
  this.timeout(60_000);
  let h: PgHarness;
  let pool: Pool;
  let unhandled: ReturnType<typeof watchUnhandled>;

  before(requireService('postgres', postgresAvailable));
  before(async () => {
    h = instrumentPg(`
circuit_breakers:
  database:
    failure_threshold: 3
    timeout: 30
    concurrency: {limit: ${LIMIT}}
`);
    expect(h.patched()).to.equal(true);
    pool = new h.pg.Pool({ ...SHARED_PG, max: 10 });
    pool.on('error', () => undefined);
    await pool.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await pool.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY)`);
  });
  beforeEach(() => {
    h.entry().breaker.fallback(null);
    unhandled = watchUnhandled();
  });
  afterEach(async () => {
    h.entry().breaker.fallback(null);
    await flush();
    unhandled.stop();
    expect(unhandled.reasons).to.deep.equal([]);
    expect(h.entry().breaker.inflight, 'every slot given back').to.equal(0);
  });
  after(async () => {
    if (!h) return;
    await pool.query(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => undefined);
    await pool.end();
    h.instrumentation.disable();
  });

  /** Fills the limit with slow queries; resolves when they are done. */
  function fillLimit(): Promise<unknown> {
    const running: Promise<unknown>[] = [];
    for (let i = 0; i < LIMIT; i++) running.push(pool.query(SLEEP));
    expect(h.entry().breaker.inflight).to.equal(LIMIT);
    return Promise.all(running);
  }

  it('refuses pool.query over the limit, as a rejection and as an asynchronous callback error, without a connection', async () => {
    await pool.query('SELECT 1');
    const running = fillLimit();
    const before = totals(h.entry());

    limited(await rejectionOf(pool.query('SELECT 1')));
    let sync = true;
    const viaCallback = await new Promise<{ err: unknown; sync: boolean; calls: number }>((resolve) => {
      let calls = 0;
      pool.query('SELECT 1', (err: Error) => {
        calls++;
        setImmediate(() => resolve({ err, sync, calls }));
      });
      sync = false;
    });
    limited(viaCallback.err);
    expect(viaCallback.sync, 'never called synchronously').to.equal(false);
    expect(viaCallback.calls).to.equal(1);
    await running;
    expect(pool.totalCount, 'no connection made for a refused call').to.be.at.most(LIMIT);

    const after = totals(h.entry());
    expect(after.limited - before.limited).to.equal(2);
    expect(after.failure - before.failure, 'a refusal is no failure').to.equal(0);
    expect(h.entry().breaker.state).to.equal('closed');
    expect((await pool.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
  });

  it('refuses client.query and client.connect over the limit', async () => {
    const client = new h.pg.Client(SHARED_PG);
    client.on('error', () => undefined);
    await client.connect();
    try {
      const running = fillLimit();
      limited(await rejectionOf(client.query('SELECT 1')));
      const cbErr = await new Promise((resolve) => client.query('SELECT 1', (err: Error) => resolve(err)));
      limited(cbErr);
      const fresh = new h.pg.Client(SHARED_PG);
      fresh.on('error', () => undefined);
      limited(await rejectionOf(fresh.connect()));
      await running;
      expect((await client.query('SELECT 2 AS two')).rows).to.deep.equal([{ two: 2 }]);
    } finally {
      await client.end();
    }
  });

  it('refuses a pool checkout over the limit; the callback still gets a release() to call; a held client holds no slot', async () => {
    const running = fillLimit();
    limited(await rejectionOf(pool.connect()));
    const viaCallback = await new Promise<unknown[]>((resolve) => {
      pool.connect((...args: unknown[]) => resolve(args));
    });
    limited(viaCallback[0]);
    expect(viaCallback[1]).to.equal(undefined);
    expect(viaCallback[2]).to.be.a('function');
    expect(() => (viaCallback[2] as () => void)()).to.not.throw();
    await running;
    expect(pool.totalCount, 'no connection made for a refused checkout').to.be.at.most(LIMIT);

    // The slot covers the checkout call, not the time the app holds the client.
    const held = (await pool.connect()) as PoolClient;
    expect(h.entry().breaker.inflight).to.equal(0);
    held.release();
  });

  it('never refuses the statements of an open transaction, and COMMIT, while refusing new work', async () => {
    const tx = (await pool.connect()) as PoolClient;
    try {
      await tx.query('BEGIN');
      await tx.query(`INSERT INTO ${TABLE} VALUES (1)`);
      const running = fillLimit();
      limited(await rejectionOf(pool.query('SELECT 1')));
      await tx.query(`INSERT INTO ${TABLE} VALUES ($1)`, [2]);
      await new Promise<void>((resolve, reject) =>
        tx.query(`INSERT INTO ${TABLE} VALUES (3)`, (err: Error | null) => (err ? reject(err) : resolve())),
      );
      await tx.query('COMMIT');
      limited(await rejectionOf(pool.query('SELECT 1')));
      await running;
    } finally {
      tx.release();
    }
    const ids = (await pool.query(`SELECT id FROM ${TABLE} ORDER BY id`)).rows.map((r: { id: number }) => r.id);
    expect(ids).to.deep.equal([1, 2, 3]);
  });

  it('answers a refused call from the fallback, in promise and callback form', async () => {
    const seen: unknown[] = [];
    h.entry().breaker.fallback((...args: unknown[]) => {
      seen.push(args[args.length - 1]);
      return { rows: [], fromFallback: true };
    });
    const running = fillLimit();
    expect(await pool.query('SELECT 1')).to.deep.equal({ rows: [], fromFallback: true });
    const viaCallback = await new Promise<unknown[]>((resolve) => pool.query('SELECT 1', (...args: unknown[]) => resolve(args)));
    expect(viaCallback).to.deep.equal([null, { rows: [], fromFallback: true }]);
    await running;
    expect(seen).to.have.length(2);
    for (const err of seen) limited(err);
  });

  it('under a burst of 40 queries, never lets more than the limit reach pg-pool (its wait queue stays empty)', async () => {
    const small = new h.pg.Pool({ ...SHARED_PG, max: 2 });
    small.on('error', () => undefined);
    const breaker = h.entry().breaker;
    let maxInflight = 0;
    let maxQueue = 0;
    let maxBusy = 0;
    let sampling = true;
    const sample = (): void => {
      maxInflight = Math.max(maxInflight, breaker.inflight);
      maxQueue = Math.max(maxQueue, small.waitingCount);
      maxBusy = Math.max(maxBusy, small.totalCount - small.idleCount);
      if (sampling) setImmediate(sample);
    };
    sample();
    try {
      const results = await Promise.allSettled(Array.from({ length: 40 }, () => small.query('SELECT pg_sleep(0.05)')));
      const refused = results.filter((r) => r.status === 'rejected');
      for (const r of refused) limited((r as PromiseRejectedResult).reason);
      expect(results.length - refused.length, 'the calls admitted at once').to.equal(LIMIT);
      expect(maxInflight).to.equal(LIMIT);
      // Pool of 2, limit of 3: at most one call waits for a client.
      expect(maxBusy).to.be.at.most(2);
      expect(maxQueue).to.be.at.most(LIMIT - 2);
      expect(breaker.state).to.equal('closed');
    } finally {
      sampling = false;
      await small.end();
    }
  });
});

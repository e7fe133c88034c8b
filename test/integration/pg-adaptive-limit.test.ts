/**
 * An adaptive (Gradient2) concurrency limit on the pg breaker against a real slowdown: a second session
 * holds an ACCESS EXCLUSIVE lock, so queries wait in Postgres until lock_timeout ends them.
 * The limit falls while they wait (calls over it are refused), the breaker stays closed (the
 * lock timeouts are answers, not failures), and once the lock is gone the limit climbs back.
 */
import { expect } from 'chai';
import { ConcurrencyLimitError } from '../../src/core';
import { postgresAvailable, requireService } from '../helpers/require-services';
import { instrumentPg, SHARED_PG, type Pg, type PgHarness } from './pg-harness';

const TABLE = `breakerbox_pg_adaptive_${process.pid}`;
const MAX = 20;

describe('pg patcher: adaptive concurrency limit under a held lock (shared Postgres)', function () {
  this.timeout(90_000);
  let h: PgHarness;
  let pool: InstanceType<Pg['Pool']>;

  before(requireService('postgres', postgresAvailable));
  before(async () => {
    h = instrumentPg(`
circuit_breakers:
  database:
    failure_threshold: 1000
    timeout: 30
    concurrency: {limit: adaptive, algorithm: gradient2, min: 2, max: ${MAX}}
`);
    pool = new h.pg.Pool({ ...SHARED_PG, max: MAX + 5, options: '-c lock_timeout=200' });
    pool.on('error', () => undefined);
    await pool.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await pool.query(`CREATE TABLE ${TABLE} (id int)`);
  });
  after(async () => {
    if (!h) return;
    await pool.query(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => undefined);
    await pool.end();
    h.instrumentation.disable();
  });

  /** `n` queries at once; how many were refused for the limit, and the limits they named. */
  async function wave(n: number): Promise<{ refused: number; limits: number[] }> {
    const results = await Promise.allSettled(Array.from({ length: n }, () => pool.query(`SELECT count(*) FROM ${TABLE}`)));
    const limits: number[] = [];
    for (const r of results) if (r.status === 'rejected' && r.reason instanceof ConcurrencyLimitError) limits.push(r.reason.limit);
    return { refused: limits.length, limits };
  }

  it('lowers the limit while queries queue behind the lock, refusing what is over it, and raises it once the lock is gone', async () => {
    const breaker = h.entry().breaker;
    for (let i = 0; i < 40; i++) await pool.query(`SELECT count(*) FROM ${TABLE}`);
    expect(breaker.concurrencyLimit).to.equal(MAX);

    const locker = new h.pg.Client(SHARED_PG);
    locker.on('error', () => undefined);
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE ${TABLE} IN ACCESS EXCLUSIVE MODE`);
    let refused = 0;
    const named: number[] = [];
    try {
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        const w = await wave(MAX);
        refused += w.refused;
        named.push(...w.limits);
      }
      const low = breaker.concurrencyLimit as number;
      expect(low, 'the limit fell under the slowdown').to.be.below(MAX);
      expect(refused, 'calls over the limit were refused').to.be.above(0);
      for (const limit of named) expect(limit).to.be.within(2, MAX - 1);
      expect(breaker.state, 'lock timeouts are answers, not failures').to.equal('closed');
    } finally {
      await locker.query('COMMIT');
      await locker.end();
    }

    const low = breaker.concurrencyLimit as number;
    for (let i = 0; i < 100 && (breaker.concurrencyLimit as number) <= low; i++) await wave(breaker.concurrencyLimit as number);
    expect(breaker.concurrencyLimit, 'the limit climbed back').to.be.above(low);
    expect(breaker.inflight).to.equal(0);
  });
});

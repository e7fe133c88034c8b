/**
 * Never strand a transaction: a breaker that opens between BEGIN and COMMIT lets the rest of
 * that transaction (and whatever ends it) through, counted but not gated, while new work
 * (checkouts, BEGIN, standalone statements) is refused. ROLLBACK always goes through.
 */
import { expect } from 'chai';
import { postgresAvailable, requireService } from '../helpers/require-services';
import { flush, instrumentPg, opCounts, rejectionOf, SHARED_PG, watchUnhandled, type Pg, type PgHarness } from './pg-harness';

type Client = InstanceType<Pg['Client']>;
type PoolClient = Client & { release: (err?: Error | boolean) => void };

const TABLE = `breakerbox_pg_tx_${process.pid}`;
const DEFERRED = `breakerbox_pg_tx_deferred_${process.pid}`;

describe('pg patcher: transactions survive a breaker that opens mid-way (shared Postgres)', function () {
  this.timeout(60_000);
  let h: PgHarness;
  let pool: InstanceType<Pg['Pool']>;
  let unhandled: ReturnType<typeof watchUnhandled>;

  before(requireService('postgres', postgresAvailable));
  before(async () => {
    h = instrumentPg(`
circuit_breakers:
  database:
    failure_threshold: 3
    timeout: 30
    operations: [connect, query]
`);
    expect(h.patched()).to.equal(true);
    pool = new h.pg.Pool({ ...SHARED_PG, max: 4 });
    await pool.query(`DROP TABLE IF EXISTS ${TABLE}, ${DEFERRED}`);
    await pool.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY)`);
    await pool.query(`CREATE TABLE ${DEFERRED} (id int, CONSTRAINT ${DEFERRED}_u UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)`);
  });
  beforeEach(async () => {
    h.entry().breaker.close();
    await pool.query(`TRUNCATE ${TABLE}, ${DEFERRED}`);
    unhandled = watchUnhandled();
  });
  afterEach(async () => {
    h.entry().breaker.close();
    await flush();
    unhandled.stop();
    expect(unhandled.reasons).to.deep.equal([]);
  });
  after(async () => {
    if (!h) return;
    h.entry().breaker.close();
    await pool.query(`DROP TABLE IF EXISTS ${TABLE}, ${DEFERRED}`).catch(() => undefined);
    await pool.end();
    h.instrumentation.disable();
  });

  async function ids(): Promise<number[]> {
    return (await pool.query(`SELECT id FROM ${TABLE} ORDER BY id`)).rows.map((r: { id: number }) => r.id);
  }

  function refused(err: unknown): void {
    expect((err as { code?: string }).code).to.equal('ECIRCUITOPEN');
  }

  it('lets the in-flight transaction run to COMMIT, in every call form, while refusing new work', async () => {
    const breaker = h.entry().breaker;
    const tx = (await pool.connect()) as PoolClient;
    const other = (await pool.connect()) as PoolClient;
    await tx.query('BEGIN');
    await tx.query(`INSERT INTO ${TABLE} VALUES (1)`);

    breaker.forceOpen();
    const before = opCounts(h.entry(), 'query');
    await tx.query(`INSERT INTO ${TABLE} VALUES ($1)`, [2]);
    await new Promise<void>((resolve, reject) => {
      tx.query(`INSERT INTO ${TABLE} VALUES (3)`, (err: Error | null) => (err ? reject(err) : resolve()));
    });
    const q = new h.pg.Query(`INSERT INTO ${TABLE} VALUES (4)`);
    const ownBefore = Reflect.ownKeys(q);
    await new Promise<void>((resolve, reject) => {
      q.on('end', () => resolve());
      q.on('error', reject);
      expect(tx.query(q)).to.equal(q);
    });
    // Watching its outcome left nothing behind on the object.
    expect(Reflect.ownKeys(q)).to.deep.equal(ownBefore);

    // New work is refused: a checkout, a query on an idle checked-out client, a new BEGIN.
    refused(await rejectionOf(pool.connect()));
    refused(await rejectionOf(pool.query('SELECT 1')));
    refused(await rejectionOf(other.query('SELECT 1')));
    refused(await rejectionOf(other.query('BEGIN')));
    // The refused BEGIN did not put that client in a transaction.
    refused(await rejectionOf(other.query(`INSERT INTO ${TABLE} VALUES (99)`)));

    await tx.query('COMMIT');
    // The transaction is over: that client's next statement is new work again.
    refused(await rejectionOf(tx.query('SELECT 1')));
    tx.release();
    other.release();

    const after = opCounts(h.entry(), 'query');
    expect(after.success - before.success, 'in-transaction statements counted').to.equal(4);
    expect(after.rejected - before.rejected).to.equal(5);
    expect(breaker.state).to.equal('forced_open');
    breaker.close();
    expect(await ids()).to.deep.equal([1, 2, 3, 4]);
  });

  it('always lets ROLLBACK and ABORT through, inside a transaction or not', async () => {
    const breaker = h.entry().breaker;
    const c = (await pool.connect()) as PoolClient;
    try {
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${TABLE} VALUES (1)`);
      breaker.forceOpen();
      expect((await c.query('ROLLBACK')).command).to.equal('ROLLBACK');
      expect((await c.query('ROLLBACK')).command).to.equal('ROLLBACK');
      expect((await c.query('ABORT')).command).to.equal('ROLLBACK');
      await new Promise<void>((resolve, reject) => c.query('rollback', (err: Error | null) => (err ? reject(err) : resolve())));
      refused(await rejectionOf(c.query('SELECT 1')));
    } finally {
      c.release();
    }
    breaker.close();
    expect(await ids()).to.deep.equal([]);
  });

  it("keeps a failed transaction open until ROLLBACK: its statements get the server's own errors", async () => {
    const breaker = h.entry().breaker;
    const c = (await pool.connect()) as PoolClient;
    try {
      await c.query('BEGIN');
      expect((await rejectionOf(c.query('SELEC 1'))).code).to.equal('42601');
      breaker.forceOpen();
      expect((await rejectionOf(c.query('SELECT 1'))).code).to.equal('25P02');
      await c.query('ROLLBACK');
      refused(await rejectionOf(c.query('SELECT 1')));
    } finally {
      c.release();
    }
  });

  it('treats a failed COMMIT as the end of the transaction', async () => {
    const breaker = h.entry().breaker;
    const c = (await pool.connect()) as PoolClient;
    try {
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${DEFERRED} VALUES (1), (1)`);
      breaker.forceOpen();
      const err = await rejectionOf(c.query('COMMIT'));
      expect(err.code).to.equal('23505');
      refused(await rejectionOf(c.query('SELECT 1')));
    } finally {
      c.release();
    }
  });

  it('keeps the transaction across ROLLBACK TO SAVEPOINT', async () => {
    const breaker = h.entry().breaker;
    const c = (await pool.connect()) as PoolClient;
    try {
      await c.query('START TRANSACTION');
      await c.query(`INSERT INTO ${TABLE} VALUES (1)`);
      await c.query('SAVEPOINT s');
      await c.query(`INSERT INTO ${TABLE} VALUES (2)`);
      breaker.forceOpen();
      await c.query('ROLLBACK TO SAVEPOINT s');
      await c.query(`INSERT INTO ${TABLE} VALUES (3)`);
      await c.query('/* done */ COMMIT');
      refused(await rejectionOf(c.query('SELECT 1')));
    } finally {
      c.release();
    }
    breaker.close();
    expect(await ids()).to.deep.equal([1, 3]);
  });

  it('learns from the server that a one-string "BEGIN; …; COMMIT" left no transaction open', async () => {
    const breaker = h.entry().breaker;
    const c = (await pool.connect()) as PoolClient;
    try {
      await c.query(`BEGIN; INSERT INTO ${TABLE} VALUES (1); COMMIT`);
      breaker.forceOpen();
      refused(await rejectionOf(c.query('SELECT 1')));
    } finally {
      c.release();
    }
  });

  it('does not mark a transaction for a BEGIN the breaker refused (callback form)', async () => {
    const breaker = h.entry().breaker;
    const c = (await pool.connect()) as PoolClient;
    try {
      breaker.forceOpen();
      const err = await new Promise<unknown>((resolve) => c.query('BEGIN', (e: unknown) => resolve(e)));
      refused(err);
      refused(await rejectionOf(c.query('SELECT 1')));
      breaker.close();
      expect((await c.query('SELECT 1 AS ok')).rows).to.deep.equal([{ ok: 1 }]);
    } finally {
      c.release();
    }
  });
});

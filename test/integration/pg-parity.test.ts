/**
 * No behaviour change while closed: the same calls against the shared Postgres give the same
 * results and the same errors with the instrumentation disabled and enabled, callbacks run
 * exactly once, nothing is left unhandled, and SQL/data/constraint errors are counted as
 * `ignored` without moving the breaker.
 */
import { expect } from 'chai';
import { postgresAvailable, requireService } from '../helpers/require-services';
import { flush, instrumentPg, opCounts, SHARED_PG, totals, watchUnhandled, type Pg, type PgHarness } from './pg-harness';

const CONFIG = `
circuit_breakers:
  database:
    failure_threshold: 3
    timeout: 0.5
    operations: [connect, query]
`;

const TABLE = `breakerbox_pg_parity_${process.pid}`;

type Shape = Record<string, unknown> | string | number | boolean | null | undefined | Shape[];

function resultShape(value: unknown): Shape {
  if (value !== null && typeof value === 'object' && 'rows' in value) {
    const r = value as { command: string; rowCount: number; rows: unknown[]; fields: { name: string }[] };
    return { command: r.command, rowCount: r.rowCount, rows: r.rows as Shape[], fields: r.fields.map((f) => f.name) };
  }
  if (value !== null && typeof value === 'object' && 'connectionParameters' in value) {
    return { client: value.constructor.name, release: typeof (value as { release?: unknown }).release };
  }
  return value as Shape;
}

function errorShape(err: unknown): Shape {
  const e = err as { constructor?: { name: string }; code?: string; message?: string; severity?: string };
  return { error: e?.constructor?.name, code: e?.code, message: e?.message, severity: e?.severity };
}

/** Runs the same scenario list on `pg` and records what the app would see. */
class Scenario {
  readonly seen: { name: string; outcome: Shape }[] = [];
  /** Guarded user calls made (connect/query on clients and pools), and how many failed. */
  calls = 0;
  errors = 0;

  constructor(readonly pg: Pg) {}

  async promise(name: string, fn: () => PromiseLike<unknown>, guarded = true): Promise<unknown> {
    if (guarded) this.calls++;
    let value: unknown;
    try {
      value = await fn();
      this.seen.push({ name, outcome: { ok: resultShape(value) } });
    } catch (err) {
      if (guarded) this.errors++;
      this.seen.push({ name, outcome: errorShape(err) });
    }
    return value;
  }

  /** A callback-style call: the callback must run exactly once, never synchronously. */
  async callback(name: string, fn: (cb: (...args: unknown[]) => void) => unknown): Promise<unknown[]> {
    this.calls++;
    let calls = 0;
    let sync = true;
    let first: unknown[] = [];
    const done = new Promise<void>((resolve) => {
      const ret = fn((...args: unknown[]) => {
        calls++;
        if (calls === 1) first = args;
        resolve();
      });
      this.seen.push({ name: `${name} returns`, outcome: ret === undefined ? 'undefined' : typeof ret });
    });
    sync = false;
    await done;
    await flush();
    expect(calls, `${name}: callback calls`).to.equal(1);
    expect(sync, `${name}: called back synchronously`).to.equal(false);
    const [err, ...rest] = first;
    if (err) this.errors++;
    this.seen.push({
      name,
      outcome: err ? errorShape(err) : { ok: rest.map((r) => (typeof r === 'function' ? 'function' : resultShape(r))) as Shape },
    });
    return first;
  }

  /** A Submittable: collects rows/end/error events; with a callback, its arguments. */
  async submittable(name: string, build: () => InstanceType<Pg['Query']>, run: (q: InstanceType<Pg['Query']>) => unknown): Promise<void> {
    this.calls++;
    const q = build();
    const rows: unknown[] = [];
    const events: string[] = [];
    const done = new Promise<void>((resolve) => {
      q.on('row', (row: unknown) => rows.push(row));
      q.on('end', () => {
        events.push('end');
        resolve();
      });
      q.on('error', (err: unknown) => {
        this.errors++;
        events.push(`error ${JSON.stringify(errorShape(err))}`);
        resolve();
      });
    });
    const ret = run(q);
    expect(ret, `${name} returns the submittable`).to.equal(q);
    await done;
    await flush();
    this.seen.push({ name, outcome: { rows: rows as Shape[], events, ownKeys: Object.keys(q).sort() } });
  }

  async run(): Promise<void> {
    const { pg } = this;
    const client = new pg.Client(SHARED_PG);
    await this.promise('connect', async () => (await client.connect()) === client);
    await this.promise('truncate', () => client.query(`TRUNCATE ${TABLE}`));
    await this.promise('seed', () => client.query(`INSERT INTO ${TABLE} VALUES (1, 'one')`));

    await this.promise('text', () => client.query('SELECT 1::int AS x'));
    await this.promise('text, values', () => client.query('SELECT $1::int AS x', [2]));
    await this.promise('config', () => client.query({ text: 'SELECT $1::int AS x, 2 AS y', values: [5], rowMode: 'array' }));
    await this.promise('named statement', () => client.query({ name: 'parity-named', text: 'SELECT $1::int AS x', values: [6] }));
    await this.promise('named statement again', () => client.query({ name: 'parity-named', text: 'SELECT $1::int AS x', values: [7] }));
    await this.callback('text, cb', (cb) => client.query('SELECT 3 AS x', cb));
    await this.callback('text, values, cb', (cb) => client.query('SELECT $1::text AS x', ['four'], cb));
    await this.callback('config, cb', (cb) => client.query({ text: 'SELECT 6 AS x' }, cb));
    const config = { text: 'SELECT 7 AS x' } as { text: string; callback?: unknown };
    await this.callback('config.callback', (cb) => {
      config.callback = cb;
      return client.query(config as never);
    });
    this.seen.push({ name: 'config object keys afterwards', outcome: Object.keys(config) });

    await this.submittable(
      'Query',
      () => new pg.Query('SELECT generate_series(1, 3) AS n'),
      (q) => client.query(q),
    );
    await this.submittable(
      'Query, values',
      () => new pg.Query('SELECT $1::int + 1 AS n', [41]),
      (q) => client.query(q),
    );
    await this.submittable(
      'Query error',
      () => new pg.Query('SELEC 1'),
      (q) => client.query(q),
    );
    await this.callback('Query, cb', (cb) => {
      const q = new pg.Query('SELECT 8 AS x');
      const ret: unknown = client.query(q as never, cb as never);
      return ret === q ? 'the query' : ret;
    });

    await this.promise('syntax error', () => client.query('SELEC 1'));
    await this.callback('syntax error, cb', (cb) => client.query('SELEC 2', cb));
    await this.promise('constraint violation', () => client.query(`INSERT INTO ${TABLE} VALUES (1, 'dup')`));
    await this.callback('constraint violation, cb', (cb) => client.query(`INSERT INTO ${TABLE} VALUES ($1, $2)`, [1, 'dup'], cb));
    await this.promise('not null violation', () => client.query(`INSERT INTO ${TABLE} VALUES (NULL, 'x')`));
    await this.promise('division by zero', () => client.query('SELECT 1/0'));
    await this.promise('bad value', () => client.query('SELECT $1::int', ['x']));
    await this.promise('unknown table', () => client.query('SELECT * FROM breakerbox_no_such_table'));

    await this.promise('BEGIN', () => client.query('BEGIN'));
    await this.promise('insert in tx', () => client.query(`INSERT INTO ${TABLE} VALUES (2, 'two')`));
    await this.promise('COMMIT', () => client.query('COMMIT'));
    await this.promise('begin (lower case)', () => client.query('begin'));
    await this.promise('insert to roll back', () => client.query(`INSERT INTO ${TABLE} VALUES (3, 'three')`));
    await this.promise('ROLLBACK', () => client.query('ROLLBACK'));
    await this.promise('BEGIN again', () => client.query('BEGIN'));
    await this.promise('error in tx', () => client.query(`INSERT INTO ${TABLE} VALUES (1, 'dup')`));
    await this.promise('aborted tx', () => client.query('SELECT 1'));
    await this.promise('COMMIT of an aborted tx', () => client.query('COMMIT'));
    await this.callback('BEGIN, cb', (cb) => client.query('BEGIN', cb));
    await this.callback('insert in tx, cb', (cb) => client.query(`INSERT INTO ${TABLE} VALUES ($1, $2)`, [4, 'four'], cb));
    await this.callback('COMMIT, cb', (cb) => client.query('COMMIT', cb));
    await this.promise('table', () => client.query(`SELECT id, note FROM ${TABLE} ORDER BY id`));
    await this.promise('end', () => client.end(), false);

    const pool = new pg.Pool({ ...SHARED_PG, max: 2 });
    const checkedOut = (await this.promise('pool.connect', () => pool.connect())) as InstanceType<Pg['Client']> & { release: () => void };
    await this.promise('checked-out query', () => checkedOut.query('SELECT 9 AS x'));
    checkedOut.release();
    const [err, cbClient, release] = await this.callback('pool.connect, cb', (cb) => pool.connect(cb));
    expect(err).to.equal(undefined);
    await this.promise('checked-out query, cb client', () => (cbClient as InstanceType<Pg['Client']>).query('SELECT 10 AS x'));
    (release as () => void)();
    await this.promise('pool.query', () => pool.query('SELECT 11 AS x'));
    await this.promise('pool.query, values', () => pool.query('SELECT $1::int AS x', [12]));
    await this.promise('pool.query, config', () => pool.query({ text: 'SELECT $1::int AS x', values: [13] }));
    await this.callback('pool.query, cb', (cb) => pool.query('SELECT 14 AS x', cb));
    await this.callback('pool.query, values, cb', (cb) => pool.query('SELECT $1::int AS x', [15], cb));
    await this.promise('pool.query syntax error', () => pool.query('SELEC 16'));
    await this.callback('pool.query syntax error, cb', (cb) => pool.query('SELEC 17', cb));
    await this.promise('pool.query constraint violation', () => pool.query(`INSERT INTO ${TABLE} VALUES (1, 'dup')`));
    await this.promise('pool.query function', () => pool.query((() => undefined) as never), false);
    this.seen.push({ name: 'pool counts', outcome: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } });
    await this.promise('pool.end', () => pool.end(), false);
  }
}

describe('pg patcher: no behaviour change while closed (shared Postgres)', function () {
  this.timeout(60_000);
  let h: PgHarness;

  before(requireService('postgres', postgresAvailable));
  before(async () => {
    h = instrumentPg(CONFIG);
    expect(h.patched()).to.equal(true);
    h.instrumentation.disable();
    const c = new h.pg.Client(SHARED_PG);
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await c.query(`CREATE TABLE ${TABLE} (id int PRIMARY KEY, note text NOT NULL)`);
    await c.end();
  });
  after(async () => {
    if (!h) return;
    h.instrumentation.disable();
    const c = new h.pg.Client(SHARED_PG);
    await c.connect();
    await c.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await c.end();
  });

  it('gives the same results, errors and callback calls disabled and enabled, and counts SQL errors as ignored', async () => {
    const unhandled = watchUnhandled();
    try {
      h.instrumentation.disable();
      expect(h.patched()).to.equal(false);
      const bare = new Scenario(h.pg);
      await bare.run();

      h.instrumentation.enable();
      expect(h.patched()).to.equal(true);
      const guarded = new Scenario(h.pg);
      await guarded.run();

      for (let i = 0; i < Math.max(bare.seen.length, guarded.seen.length); i++)
        expect(guarded.seen[i], `step ${i} ${bare.seen[i]?.name}`).to.deep.equal(bare.seen[i]);
      expect(guarded.errors).to.be.greaterThan(10);

      const entry = h.entry();
      expect(entry.breaker.state).to.equal('closed');
      const t = totals(entry);
      expect(t.failure).to.equal(0);
      expect(t.rejected).to.equal(0);
      // A pool checkout that hands out an idle client does no I/O: it says nothing either way.
      const connect = opCounts(entry, 'connect');
      expect(connect).to.deep.include({ success: 2, ignored: 1 });
      expect(t.ignored).to.equal(guarded.errors + connect.ignored);
      // Every guarded user call counted exactly once: no double counts through pg-pool.
      expect(t.success + t.ignored).to.equal(guarded.calls);
      await flush();
      expect(unhandled.reasons).to.deep.equal([]);
    } finally {
      unhandled.stop();
    }
  });

  it('counts one pool.query as one query: not also as a checkout and a client query', async () => {
    h.instrumentation.enable();
    const entry = h.entry();
    const before = { connect: opCounts(entry, 'connect'), query: opCounts(entry, 'query') };
    const pool = new h.pg.Pool({ ...SHARED_PG, max: 2 });
    try {
      await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 2'), pool.query('SELECT 3')]);
      await new Promise<void>((resolve, reject) =>
        pool.query('SELECT $1::int', [4], (err: Error | null) => (err ? reject(err) : resolve())),
      );
      await pool.query('SELEC 5').catch(() => undefined);
    } finally {
      await pool.end();
    }
    const after = { connect: opCounts(entry, 'connect'), query: opCounts(entry, 'query') };
    expect(after.connect).to.deep.equal(before.connect);
    expect(after.query.success - before.query.success).to.equal(4);
    expect(after.query.ignored - before.query.ignored).to.equal(1);
  });
});

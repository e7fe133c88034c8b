/**
 * Captures the errors pg and pg-pool really produce, from real servers, into
 * test/unit/classify/fixtures/pg-errors.json, which test/unit/classify/pg.test.ts replays
 * through the classifier. Hand-written error objects drift from what pg does; these do not.
 *
 *   npx tsx scripts/capture-pg-errors.ts
 *
 * Needs the shared Postgres (127.0.0.1:5432, trust, db `test`) and the Postgres server
 * binaries (private servers are started in temp dirs and removed). Re-run after upgrading
 * pg, pg-pool or the server, and review the diff: a changed message or code is a change the
 * classifier has to follow.
 *
 * Every case states the classification our policy (DESIGN.md §3) wants, independently of
 * the classifier, and checks that it provoked the error it meant to (e.g. the deadlock case
 * really got 40P01), so the fixtures cannot silently hold the wrong error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pgFailureKind, type PgFailureKind } from '../src/classify/pg';
import { freePort } from '../test/helpers/free-port';
import { startPrivatePostgres, type PrivatePostgres } from '../test/helpers/private-postgres';
import { startTcpFaultProxy, type TcpFaultProxy } from '../test/helpers/tcp-fault-proxy';

const OUT = path.join(__dirname, '..', 'test', 'unit', 'classify', 'fixtures', 'pg-errors.json');
const SHARED = {
  host: '127.0.0.1',
  port: 5432,
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
};
const CASE_TIMEOUT_MS = 20_000;

type Json = null | boolean | number | string;

/** An error as pg produced it: its own plain fields, and what it wraps. */
export interface CapturedError {
  /** `err.constructor.name` (pg's server errors are `DatabaseError`). */
  constructor: string;
  /** `err.name`, own or inherited (pg's DatabaseError sets its own name to 'error'). */
  name: string;
  message: string;
  /** Own properties with primitive values, except message, stack, cause and errors. */
  own: Record<string, Json>;
  /** Own properties whose value is undefined (DatabaseError declares every field). */
  undefinedKeys: string[];
  cause?: CapturedError;
  errors?: CapturedError[];
}

export interface CapturedCase {
  id: string;
  description: string;
  /** Which server produced it. */
  source: 'shared' | 'private' | 'proxy' | 'none';
  /** How the app received it: promise rejection, 'error' event, synchronous throw. */
  surfacedAs: string;
  expected: { failure: boolean; kind: PgFailureKind | null };
  error: CapturedError;
  /** Errors the pg.Client emitted as 'error' events during the case (code: message). */
  clientErrorEvents?: string[];
  /** Notices (e.g. WARNING 57P02) the pg.Client emitted as 'notice' events during the case. */
  clientNotices?: string[];
}

interface Outcome {
  error: unknown;
  surfacedAs: string;
  clientErrorEvents?: string[];
  clientNotices?: string[];
}

interface CaseDef {
  id: string;
  description: string;
  source: CapturedCase['source'];
  expected: CapturedCase['expected'];
  /** Checks the run provoked the intended error; returns a problem, or null. */
  verify: (err: unknown) => string | null;
  run: () => Promise<Outcome>;
}

// ---------------------------------------------------------------------------------------------
// Small tools

function field(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined;
}

const hasCode = (code: string) => (err: unknown) =>
  field(err, 'code') === code ? null : `expected code ${code}, got ${String(field(err, 'code'))}: ${String(field(err, 'message'))}`;

const hasMessage = (message: string) => (err: unknown) =>
  field(err, 'message') === message ? null : `expected message "${message}", got "${String(field(err, 'message'))}"`;

function anyOf(...checks: Array<(err: unknown) => string | null>): (err: unknown) => string | null {
  return (err) => {
    const problems = checks.map((c) => c(err));
    return problems.includes(null) ? null : problems.join('; ');
  };
}

const yes = (kind: PgFailureKind) => ({ failure: true, kind });
const no = { failure: false, kind: null };

interface Observed {
  client: pg.Client;
  /** 'error' events, as "code: message". */
  events: string[];
  /** 'notice' events, as "severity code: message". */
  notices: string[];
}

/** A client that records its 'error' and 'notice' events (an unheard 'error' would crash us). */
function newClient(config: pg.ClientConfig): Observed {
  const client = new pg.Client(config);
  const events: string[] = [];
  const notices: string[] = [];
  client.on('error', (err: Error & { code?: string }) => {
    events.push(describe(err));
  });
  client.on('notice', (n) => {
    notices.push(`${n.severity ?? '?'} ${n.code ?? '?'}: ${n.message ?? ''}`);
  });
  return { client, events, notices };
}

function describe(err: Error & { code?: string }): string {
  return err.code ? `${err.code}: ${err.message}` : err.message;
}

async function connected(config: pg.ClientConfig = SHARED): Promise<Observed> {
  const c = newClient(config);
  await c.client.connect();
  return c;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail, it succeeded');
}

async function endQuietly(...clients: pg.Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
}

/** Lets trailing socket events (the 'end' after a FATAL, say) arrive before events are read. */
const settle = (): Promise<void> => sleep(100);

async function onShared<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const { client } = await connected();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await endQuietly(client);
  }
}

function capture(err: unknown, depth = 0): CapturedError {
  if (typeof err !== 'object' || err === null) {
    return { constructor: typeof err, name: typeof err, message: String(err), own: {}, undefinedKeys: [] };
  }
  const e = err as Record<string, unknown>;
  const own: Record<string, Json> = {};
  const undefinedKeys: string[] = [];
  for (const key of Object.getOwnPropertyNames(err)) {
    if (['stack', 'message', 'cause', 'errors'].includes(key)) continue;
    const value = e[key];
    if (value === undefined) undefinedKeys.push(key);
    else if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) own[key] = value as Json;
  }
  const out: CapturedError = {
    constructor: (err as { constructor?: { name?: string } }).constructor?.name ?? 'Object',
    name: String(e.name),
    message: String(e.message),
    own,
    undefinedKeys,
  };
  if (depth < 4 && e.cause !== undefined) out.cause = capture(e.cause, depth + 1);
  if (depth < 4 && Array.isArray(e.errors)) out.errors = e.errors.map((x) => capture(x, depth + 1));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shared-server cases: errors that prove the server is up (apart from 58 and 57P01)

const TABLE = `breakerbox_capture_${process.pid}`;

function sharedQueryCase(
  id: string,
  description: string,
  sql: string | string[],
  expected: CapturedCase['expected'],
  verify: CaseDef['verify'],
): CaseDef {
  return {
    id,
    description,
    source: 'shared',
    expected,
    verify,
    run: async () => {
      const { client, events, notices } = await connected();
      try {
        const statements = Array.isArray(sql) ? sql : [sql];
        for (const s of statements.slice(0, -1)) await client.query(s);
        const error = await rejection(client.query(statements[statements.length - 1] as string));
        return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
      } finally {
        await endQuietly(client);
      }
    },
  };
}

const sharedCases: CaseDef[] = [
  sharedQueryCase('syntax_error', 'SQL syntax error (42601)', 'SELEC 1', no, hasCode('42601')),
  sharedQueryCase('undefined_table', 'undefined table (42P01)', 'SELECT * FROM breakerbox_no_such_table', no, hasCode('42P01')),
  sharedQueryCase(
    'unique_violation',
    'duplicate primary key (23505)',
    ['CREATE TEMP TABLE t (id int PRIMARY KEY)', 'INSERT INTO t VALUES (1)', 'INSERT INTO t VALUES (1)'],
    no,
    hasCode('23505'),
  ),
  sharedQueryCase(
    'not_null_violation',
    'NULL into a NOT NULL column (23502)',
    ['CREATE TEMP TABLE t (id int NOT NULL)', 'INSERT INTO t VALUES (NULL)'],
    no,
    hasCode('23502'),
  ),
  sharedQueryCase('division_by_zero', 'division by zero (22012)', 'SELECT 1/0', no, hasCode('22012')),
  sharedQueryCase('invalid_text_representation', "'abc'::int (22P02)", "SELECT 'abc'::int", no, hasCode('22P02')),
  {
    id: 'in_failed_sql_transaction',
    description: 'statement after an error inside a transaction (25P02)',
    source: 'shared',
    expected: no,
    verify: hasCode('25P02'),
    run: async () => {
      const { client, events, notices } = await connected();
      try {
        await client.query('BEGIN');
        await client.query('SELECT 1/0').catch(() => undefined);
        const error = await rejection(client.query('SELECT 1'));
        return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
      } finally {
        await endQuietly(client);
      }
    },
  },
  sharedQueryCase(
    'query_canceled_statement_timeout',
    'statement_timeout cancels a slow query (57014): the query is slow, the server is fine',
    ["SET statement_timeout = '50ms'", 'SELECT pg_sleep(5)'],
    no,
    hasCode('57014'),
  ),
  sharedQueryCase(
    'system_error_undefined_file',
    'pg_read_file of a missing file (58P01): class 58 counts as a failure even when, as here, the app asked for it',
    "SELECT pg_read_file('/breakerbox/no/such/file')",
    yes('sqlstate_58'),
    hasCode('58P01'),
  ),
  {
    id: 'serialization_failure',
    description: 'two SERIALIZABLE transactions update the same row (40001)',
    source: 'shared',
    expected: no,
    verify: hasCode('40001'),
    run: async () => {
      await onShared(`CREATE TABLE IF NOT EXISTS ${TABLE} (id int PRIMARY KEY, v int)`);
      await onShared(`INSERT INTO ${TABLE} VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING`);
      const a = await connected();
      const b = await connected();
      try {
        await a.client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        await a.client.query(`SELECT * FROM ${TABLE}`);
        await b.client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        await b.client.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 1`);
        await b.client.query('COMMIT');
        const error = await rejection(a.client.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 1`));
        return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: a.events, clientNotices: a.notices };
      } finally {
        await endQuietly(a.client, b.client);
      }
    },
  },
  {
    id: 'deadlock_detected',
    description: 'two clients lock two rows in opposite order (40P01)',
    source: 'shared',
    expected: no,
    verify: hasCode('40P01'),
    run: async () => {
      await onShared(`CREATE TABLE IF NOT EXISTS ${TABLE} (id int PRIMARY KEY, v int)`);
      await onShared(`INSERT INTO ${TABLE} VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING`);
      const a = await connected();
      const b = await connected();
      try {
        for (const c of [a, b]) await c.client.query("SET deadlock_timeout = '100ms'");
        await a.client.query('BEGIN');
        await a.client.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 1`);
        await b.client.query('BEGIN');
        await b.client.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 2`);
        const results = await Promise.allSettled([
          a.client.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 2`),
          b.client.query(`UPDATE ${TABLE} SET v = v + 1 WHERE id = 1`),
        ]);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (!failed) throw new Error('no deadlock happened');
        return { error: failed.reason, surfacedAs: 'client.query() rejection', clientErrorEvents: [...a.events, ...b.events] };
      } finally {
        await endQuietly(a.client, b.client);
      }
    },
  },
  {
    id: 'role_does_not_exist',
    description: 'connect as a role that does not exist (28000): a config error, the server answered',
    source: 'shared',
    expected: no,
    verify: hasCode('28000'),
    run: async () => {
      const { client, events, notices } = newClient({ ...SHARED, user: 'breakerbox_no_such_role' });
      const error = await rejection(client.connect());
      await settle();
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'database_does_not_exist',
    description: 'connect to a database that does not exist (3D000): a config error, not an outage',
    source: 'shared',
    expected: no,
    verify: hasCode('3D000'),
    run: async () => {
      const { client, events, notices } = newClient({ ...SHARED, database: 'breakerbox_no_such_db' });
      const error = await rejection(client.connect());
      await settle();
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'admin_shutdown_terminated_mid_query',
    description: 'pg_terminate_backend of our own backend while it runs a query (57P01)',
    source: 'shared',
    expected: yes('sqlstate_57P01'),
    verify: hasCode('57P01'),
    run: async () => {
      const victim = await connected();
      const pid = (victim.client as unknown as { processID: number }).processID;
      const pending = rejection(victim.client.query('SELECT pg_sleep(10)'));
      await sleep(100);
      await onShared('SELECT pg_terminate_backend($1)', [pid]);
      const error = await pending;
      await settle();
      await endQuietly(victim.client);
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: victim.events, clientNotices: victim.notices };
    },
  },
  {
    id: 'admin_shutdown_terminated_idle',
    description: "pg_terminate_backend of our own idle backend: 57P01 arrives as a client 'error' event",
    source: 'shared',
    expected: yes('sqlstate_57P01'),
    verify: hasCode('57P01'),
    run: async () => {
      const victim = new pg.Client(SHARED);
      const events: unknown[] = [];
      victim.on('error', (err) => events.push(err));
      await victim.connect();
      const pid = (victim as unknown as { processID: number }).processID;
      await onShared('SELECT pg_terminate_backend($1)', [pid]);
      await settle();
      await endQuietly(victim);
      if (events.length === 0) throw new Error('no error event');
      return {
        error: events[0],
        surfacedAs: "client 'error' event (no query in flight)",
        clientErrorEvents: events.map((e) => describe(e as Error)),
      };
    },
  },
  {
    id: 'not_queryable_after_connection_error',
    description: 'query on a client whose connection already broke',
    source: 'shared',
    expected: yes('not_queryable'),
    verify: hasMessage('Client has encountered a connection error and is not queryable'),
    run: async () => {
      const victim = await connected();
      const pid = (victim.client as unknown as { processID: number }).processID;
      await onShared('SELECT pg_terminate_backend($1)', [pid]);
      await settle();
      const error = await rejection(victim.client.query('SELECT 1'));
      await endQuietly(victim.client);
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: victim.events, clientNotices: victim.notices };
    },
  },
  {
    id: 'connection_terminated_by_end',
    description: 'client.end() while a query is in flight: the query is left unanswered',
    source: 'shared',
    expected: yes('terminated'),
    verify: hasMessage('Connection terminated'),
    run: async () => {
      const { client, events, notices } = await connected();
      const pending = rejection(client.query('SELECT pg_sleep(2)'));
      await sleep(50);
      await client.end();
      const error = await pending;
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'client_closed_not_queryable',
    description: 'query after client.end(): app misuse',
    source: 'shared',
    expected: no,
    verify: hasMessage('Client was closed and is not queryable'),
    run: async () => {
      const { client, events, notices } = await connected();
      await client.end();
      const error = await rejection(client.query('SELECT 1'));
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'null_query_type_error',
    description: 'client.query(null): a bad argument, thrown synchronously',
    source: 'shared',
    expected: no,
    verify: (err) => (err instanceof TypeError ? null : 'expected a TypeError'),
    run: async () => {
      const { client, events, notices } = await connected();
      try {
        try {
          client.query(null as unknown as string);
        } catch (error) {
          return { error, surfacedAs: 'synchronous throw', clientErrorEvents: events, clientNotices: notices };
        }
        throw new Error('client.query(null) did not throw');
      } finally {
        await endQuietly(client);
      }
    },
  },
  {
    id: 'pool_query_function_argument',
    description: 'pool.query(fn): a bad argument; pg-pool calls fn back with the error',
    source: 'shared',
    expected: no,
    verify: hasMessage('Passing a function as the first parameter to pool.query is not supported'),
    run: async () => {
      const pool = new pg.Pool(SHARED);
      try {
        const error = await new Promise((resolve) => {
          const query = pool.query.bind(pool) as unknown as (cb: (err: unknown) => void) => void;
          query((err) => resolve(err));
        });
        return { error, surfacedAs: 'pool.query() callback' };
      } finally {
        await pool.end();
      }
    },
  },
  {
    id: 'query_read_timeout',
    description:
      'client-side query_timeout: no answer from the server in time; a hung server looks exactly like this, so it counts (as a timeout)',
    source: 'shared',
    expected: yes('query_timeout'),
    verify: hasMessage('Query read timeout'),
    run: async () => {
      const { client, events, notices } = await connected({ ...SHARED, query_timeout: 50 });
      try {
        const error = await rejection(client.query('SELECT pg_sleep(1)'));
        return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
      } finally {
        await endQuietly(client);
      }
    },
  },
  {
    id: 'pool_checkout_timeout',
    description: 'pool of 1 with its client checked out: pool.connect() waits connectionTimeoutMillis',
    source: 'shared',
    expected: yes('pool_timeout'),
    verify: hasMessage('timeout exceeded when trying to connect'),
    run: async () => {
      const pool = new pg.Pool({ ...SHARED, max: 1, connectionTimeoutMillis: 200 });
      const held = await pool.connect();
      try {
        const error = await rejection(pool.connect());
        return { error, surfacedAs: 'pool.connect() rejection' };
      } finally {
        held.release();
        await pool.end();
      }
    },
  },
];

// ---------------------------------------------------------------------------------------------
// No server: refused and unresolvable addresses

const noServerCases: CaseDef[] = [
  {
    id: 'econnrefused',
    description: 'connect to a port nothing listens on',
    source: 'none',
    expected: yes('socket'),
    verify: hasCode('ECONNREFUSED'),
    run: async () => {
      const { client, events, notices } = newClient({ ...SHARED, port: await freePort() });
      const error = await rejection(client.connect());
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'econnrefused_via_pool_query',
    description: 'pool.query() against a port nothing listens on: the socket error, unwrapped',
    source: 'none',
    expected: yes('socket'),
    verify: hasCode('ECONNREFUSED'),
    run: async () => {
      const pool = new pg.Pool({ ...SHARED, port: await freePort() });
      try {
        const error = await rejection(pool.query('SELECT 1'));
        return { error, surfacedAs: 'pool.query() rejection' };
      } finally {
        await pool.end();
      }
    },
  },
  {
    id: 'econnrefused_localhost',
    description: "host 'localhost' on a closed port (Node may try several addresses)",
    source: 'none',
    expected: yes('socket'),
    verify: hasCode('ECONNREFUSED'),
    run: async () => {
      const { client, events, notices } = newClient({ ...SHARED, host: 'localhost', port: await freePort() });
      const error = await rejection(client.connect());
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'enotfound',
    description: 'host name that does not resolve',
    source: 'none',
    expected: yes('socket'),
    verify: anyOf(hasCode('ENOTFOUND')),
    run: async () => {
      const { client, events, notices } = newClient({ ...SHARED, host: 'breakerbox-no-such-host.invalid', connectionTimeoutMillis: 5000 });
      const error = await rejection(client.connect());
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'ehostunreach',
    description: 'address with no route (IPv6 documentation prefix)',
    source: 'none',
    expected: yes('socket'),
    verify: anyOf(hasCode('EHOSTUNREACH'), hasCode('ENETUNREACH')),
    run: async () => {
      const { client, events, notices } = newClient({ ...SHARED, host: '2001:db8::1', connectionTimeoutMillis: 5000 });
      const error = await rejection(client.connect());
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Proxy cases: network faults between pg and the shared server

let proxy: TcpFaultProxy;

function viaProxy(extra: pg.ClientConfig = {}): pg.ClientConfig {
  return { ...SHARED, host: proxy.host, port: proxy.port, ...extra };
}

const proxyCases: CaseDef[] = [
  {
    id: 'econnreset_mid_query',
    description: 'the connection is reset (RST) when the client sends a query',
    source: 'proxy',
    expected: yes('socket'),
    verify: hasCode('ECONNRESET'),
    run: async () => {
      await proxy.setMode('pass');
      const { client, events, notices } = await connected(viaProxy());
      proxy.resetAfterBytes(0);
      const error = await rejection(client.query('SELECT 1'));
      await settle();
      await proxy.setMode('pass');
      await endQuietly(client);
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'econnreset_on_connect',
    description: 'every new connection is reset right after it is accepted',
    source: 'proxy',
    expected: yes('socket'),
    verify: anyOf(hasCode('ECONNRESET'), hasMessage('Connection terminated unexpectedly')),
    run: async () => {
      await proxy.setMode('reset');
      const { client, events, notices } = newClient(viaProxy());
      const error = await rejection(client.connect());
      await settle();
      await proxy.setMode('pass');
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'terminated_unexpectedly_mid_query',
    description: 'the connection is closed (FIN) when the client sends a query',
    source: 'proxy',
    expected: yes('terminated'),
    verify: hasMessage('Connection terminated unexpectedly'),
    run: async () => {
      await proxy.setMode('pass');
      const { client, events, notices } = await connected(viaProxy());
      proxy.closeAfterBytes(0);
      const error = await rejection(client.query('SELECT 1'));
      await settle();
      await proxy.setMode('pass');
      await endQuietly(client);
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'econnrefused_proxy_refusing',
    description: 'the proxy stopped listening',
    source: 'proxy',
    expected: yes('socket'),
    verify: hasCode('ECONNREFUSED'),
    run: async () => {
      await proxy.setMode('refuse');
      const { client, events, notices } = newClient(viaProxy());
      const error = await rejection(client.connect());
      await proxy.setMode('pass');
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'pool_connect_timeout_blackhole',
    description: 'pool with connectionTimeoutMillis; the server never answers the startup message',
    source: 'proxy',
    expected: yes('connect_timeout'),
    verify: hasMessage('Connection terminated due to connection timeout'),
    run: async () => {
      await proxy.setMode('blackhole');
      const pool = new pg.Pool({ ...viaProxy(), connectionTimeoutMillis: 200 });
      try {
        const error = await rejection(pool.query('SELECT 1'));
        return { error, surfacedAs: 'pool.query() rejection' };
      } finally {
        await pool.end();
        await proxy.setMode('pass');
      }
    },
  },
  {
    id: 'client_connect_timeout_blackhole',
    description: 'Client with connectionTimeoutMillis; the server never answers the startup message',
    source: 'proxy',
    expected: yes('connect_timeout'),
    verify: hasMessage('timeout expired'),
    run: async () => {
      await proxy.setMode('blackhole');
      const { client, events, notices } = newClient(viaProxy({ connectionTimeoutMillis: 200 }));
      const error = await rejection(client.connect());
      await settle();
      await proxy.setMode('pass');
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Private-server cases: shutdowns, crashes, exhaustion, auth

let priv: PrivatePostgres;
let tiny: PrivatePostgres;

const privateCases: CaseDef[] = [
  {
    id: 'too_many_connections',
    description: 'max_connections = 2 and both slots taken (53300)',
    source: 'private',
    expected: yes('sqlstate_53'),
    verify: hasCode('53300'),
    run: async () => {
      const held = [await connected(tiny.clientConfig()), await connected(tiny.clientConfig())];
      try {
        const { client, events, notices } = newClient(tiny.clientConfig());
        const error = await rejection(client.connect());
        await settle();
        return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
      } finally {
        await endQuietly(...held.map((h) => h.client));
      }
    },
  },
  {
    id: 'password_authentication_failed',
    description: 'wrong password under scram-sha-256 (28P01): a config error, the server answered',
    source: 'private',
    expected: no,
    verify: hasCode('28P01'),
    run: async () => {
      const { client, events, notices } = newClient({ ...priv.clientConfig(), user: 'breakerbox_pw', password: 'wrong' });
      const error = await rejection(client.connect());
      await settle();
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'admin_shutdown_fast_stop',
    description: 'pg_ctl stop -m fast while a query runs (57P01)',
    source: 'private',
    expected: yes('sqlstate_57P01'),
    verify: hasCode('57P01'),
    run: async () => {
      const { client, events, notices } = await connected(priv.clientConfig());
      const pending = rejection(client.query('SELECT pg_sleep(10)'));
      await sleep(100);
      await priv.stop('fast');
      const error = await pending;
      await settle();
      await endQuietly(client);
      await priv.start();
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'terminated_unexpectedly_immediate_stop',
    description:
      'pg_ctl stop -m immediate while a query runs: since PG 14 the 57P01 comes as a WARNING notice, the error is the closed socket',
    source: 'private',
    expected: yes('terminated'),
    verify: hasMessage('Connection terminated unexpectedly'),
    run: async () => {
      const { client, events, notices } = await connected(priv.clientConfig());
      const pending = rejection(client.query('SELECT pg_sleep(10)'));
      await sleep(100);
      await priv.stop('immediate');
      const error = await pending;
      await settle();
      await endQuietly(client);
      await priv.start();
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'cannot_connect_now_shutting_down',
    description: 'connect while a smart shutdown waits for the last session (57P03)',
    source: 'private',
    expected: yes('sqlstate_57P03'),
    verify: hasCode('57P03'),
    run: async () => {
      const holder = await connected(priv.clientConfig());
      await priv.stop('smart', { wait: false });
      await sleep(200);
      const { client, events, notices } = newClient(priv.clientConfig());
      const error = await rejection(client.connect());
      await settle();
      await endQuietly(holder.client);
      await waitUntilDown(priv);
      await priv.start();
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'terminated_unexpectedly_crash_restart',
    description:
      'another backend is SIGKILLed and the postmaster resets every session: since PG 14 the 57P02 comes as a WARNING notice, the error is the closed socket',
    source: 'private',
    expected: yes('terminated'),
    verify: hasMessage('Connection terminated unexpectedly'),
    run: async () => {
      const survivor = await connected(priv.clientConfig());
      const victim = await connected(priv.clientConfig());
      const pending = rejection(survivor.client.query('SELECT pg_sleep(10)'));
      await sleep(100);
      process.kill((victim.client as unknown as { processID: number }).processID, 'SIGKILL');
      const error = await pending;
      await settle();
      await endQuietly(survivor.client, victim.client);
      await waitUntilAccepting(priv);
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: survivor.events, clientNotices: survivor.notices };
    },
  },
  {
    id: 'cannot_connect_now_recovery',
    description: 'connect while the server recovers from a crashed backend (57P03)',
    source: 'private',
    expected: yes('sqlstate_57P03'),
    verify: hasCode('57P03'),
    run: async () => {
      // Recovery takes a few ms; try a few crashes until a connect lands inside one.
      for (let attempt = 0; attempt < 10; attempt++) {
        const victim = await connected(priv.clientConfig());
        process.kill((victim.client as unknown as { processID: number }).processID, 'SIGKILL');
        for (let i = 0; i < 200; i++) {
          const { client, events, notices } = newClient(priv.clientConfig());
          let error: unknown;
          try {
            await client.connect();
          } catch (err) {
            error = err;
          }
          await endQuietly(client);
          if (field(error, 'code') === '57P03') {
            await settle();
            await endQuietly(victim.client);
            await waitUntilAccepting(priv);
            return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
          }
          if (error === undefined && i > 0) break;
          await sleep(2);
        }
        await endQuietly(victim.client);
        await waitUntilAccepting(priv);
      }
      throw new Error('never connected during recovery');
    },
  },
  {
    id: 'terminated_unexpectedly_backend_killed',
    description: 'our own backend is SIGKILLed mid-query: the socket just closes',
    source: 'private',
    expected: yes('terminated'),
    verify: hasMessage('Connection terminated unexpectedly'),
    run: async () => {
      const victim = await connected(priv.clientConfig());
      const pending = rejection(victim.client.query('SELECT pg_sleep(10)'));
      await sleep(100);
      process.kill((victim.client as unknown as { processID: number }).processID, 'SIGKILL');
      const error = await pending;
      await settle();
      await endQuietly(victim.client);
      await waitUntilAccepting(priv);
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: victim.events, clientNotices: victim.notices };
    },
  },
  {
    id: 'terminated_unexpectedly_server_killed',
    description: 'the whole server is SIGKILLed while a query runs',
    source: 'private',
    expected: yes('terminated'),
    verify: hasMessage('Connection terminated unexpectedly'),
    run: async () => {
      const { client, events, notices } = await connected(priv.clientConfig());
      const pending = rejection(client.query('SELECT pg_sleep(10)'));
      await sleep(100);
      await priv.kill();
      const error = await pending;
      await settle();
      await endQuietly(client);
      await priv.start();
      return { error, surfacedAs: 'client.query() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
  {
    id: 'econnrefused_server_stopped',
    description: 'connect to the private server after it was stopped',
    source: 'private',
    expected: yes('socket'),
    verify: hasCode('ECONNREFUSED'),
    run: async () => {
      await priv.stop('fast');
      const { client, events, notices } = newClient(priv.clientConfig());
      const error = await rejection(client.connect());
      await priv.start();
      return { error, surfacedAs: 'client.connect() rejection', clientErrorEvents: events, clientNotices: notices };
    },
  },
];

async function waitUntilAccepting(server: PrivatePostgres): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { client } = newClient({ ...server.clientConfig(), connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await endQuietly(client);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

async function waitUntilDown(server: PrivatePostgres): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (fs.existsSync(path.join(server.dataDir, 'postmaster.pid'))) {
    if (Date.now() > deadline) throw new Error('private server did not shut down');
    await sleep(50);
  }
}

// ---------------------------------------------------------------------------------------------

async function runCase(def: CaseDef): Promise<CapturedCase> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([def.run(), timeout]);
    const problem = def.verify(outcome.error);
    if (problem) throw new Error(`provoked the wrong error: ${problem}`);
    const out: CapturedCase = {
      id: def.id,
      description: def.description,
      source: def.source,
      surfacedAs: outcome.surfacedAs,
      expected: def.expected,
      error: capture(outcome.error),
    };
    if (outcome.clientErrorEvents) out.clientErrorEvents = outcome.clientErrorEvents;
    if (outcome.clientNotices && outcome.clientNotices.length > 0) out.clientNotices = outcome.clientNotices;
    return out;
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const cases: CapturedCase[] = [];
  const failures: string[] = [];
  const run = async (defs: CaseDef[]): Promise<void> => {
    for (const def of defs) {
      if (only.length > 0 && !only.includes(def.id)) continue;
      try {
        const c = await runCase(def);
        cases.push(c);
        const got = pgFailureKind(rebuildForCheck(c));
        const agrees = got === c.expected.kind ? 'ok  ' : 'DIFF';
        console.log(
          `${agrees} ${def.id.padEnd(40)} ${(c.error.own.code as string | undefined) ?? c.error.message} -> expected ${c.expected.kind}, classifier ${got}`,
        );
      } catch (err) {
        failures.push(`${def.id}: ${(err as Error).message}`);
        console.log(`FAIL ${def.id}: ${(err as Error).message}`);
      }
    }
  };

  const [version] = await onShared<{ server_version: string }>('SHOW server_version');
  await run(sharedCases);
  await run(noServerCases);

  proxy = await startTcpFaultProxy({ targetPort: SHARED.port });
  try {
    await run(proxyCases);
  } finally {
    await proxy.close();
  }

  priv = await startPrivatePostgres({
    hba: ['local all all trust', 'host all breakerbox_pw 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 trust'],
  });
  tiny = await startPrivatePostgres({ maxConnections: 2 });
  try {
    const { client } = await connected(priv.clientConfig());
    await client.query("CREATE ROLE breakerbox_pw LOGIN PASSWORD 'right'");
    await endQuietly(client);
    await run(privateCases);
  } finally {
    await Promise.all([priv.cleanup(), tiny.cleanup()]);
    await onShared(`DROP TABLE IF EXISTS ${TABLE}`).catch(() => undefined);
  }

  if (failures.length > 0) {
    console.error(`\n${failures.length} case(s) failed; fixtures NOT written:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
    return;
  }
  if (only.length > 0) {
    console.log('\n(subset run: fixtures not written)');
    return;
  }
  const doc = {
    comment: 'Generated by scripts/capture-pg-errors.ts from real servers; do not edit by hand, re-run it.',
    versions: {
      pg: packageVersion('pg'),
      'pg-pool': packageVersion('pg-pool'),
      'pg-protocol': packageVersion('pg-protocol'),
      node: process.version,
      server: version?.server_version,
    },
    cases,
  };
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, JSON.stringify(doc, null, 2) + '\n');
  console.log(`\nwrote ${cases.length} cases to ${path.relative(process.cwd(), OUT)}`);
}

/** Version of an installed package (pg-pool's `exports` hide its package.json from require). */
function packageVersion(name: string): string {
  let dir = path.dirname(require.resolve(name));
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (json.name === name && json.version) return json.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}

/** Just enough of a rebuild to compare the classifier with the expectation as we go. */
function rebuildForCheck(c: CapturedCase): unknown {
  const build = (e: CapturedError): Record<string, unknown> => ({
    ...e.own,
    name: e.name,
    message: e.message,
    ...(e.cause ? { cause: build(e.cause) } : {}),
    ...(e.errors ? { errors: e.errors.map(build) } : {}),
  });
  return build(c.error);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * Which `pg` / `pg-pool` errors mean "Postgres is down, unreachable or overloaded" (DESIGN.md §3).
 *
 * A breaker must open on outages, not on bugs in the app's SQL or data: a syntax error or a
 * constraint violation proves the server is up and answering. So this is an allow-list of
 * outage signals; anything it does not recognise is not a failure.
 *
 * The shapes recognised here were captured from real servers by
 * `scripts/capture-pg-errors.ts` into `test/unit/classify/fixtures/pg-errors.json`; the unit
 * test replays them. Re-run the script after upgrading pg and check the fixtures still agree.
 *
 * Pure: pg is never imported, so classifying works whether or not pg is installed.
 */
import type { ErrorVerdict } from '../core/types';
import { readString, walkErrorChain } from './common';

/** Bounded set of reasons, safe to use as a log field or metric label. */
export type PgFailureKind =
  | 'socket'
  | 'terminated'
  | 'connect_timeout'
  | 'query_timeout'
  | 'pool_timeout'
  | 'not_queryable'
  | 'sqlstate_08'
  | 'sqlstate_53'
  | 'sqlstate_58'
  | 'sqlstate_57P01'
  | 'sqlstate_57P02'
  | 'sqlstate_57P03';

/** Every value `pgFailureKind` can return besides null. */
export const PG_FAILURE_KINDS: readonly PgFailureKind[] = Object.freeze([
  'socket',
  'terminated',
  'connect_timeout',
  'query_timeout',
  'pool_timeout',
  'not_queryable',
  'sqlstate_08',
  'sqlstate_53',
  'sqlstate_58',
  'sqlstate_57P01',
  'sqlstate_57P02',
  'sqlstate_57P03',
]);

/** Node socket / DNS error codes that mean the server cannot be reached or dropped us. */
const SOCKET_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  // The resolver could not answer (DNS down): the server cannot be reached by its name.
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * Errors pg and pg-pool create themselves, without a `code`, matched on the exact message:
 * these strings are pg's API in practice, and exact matching keeps an app's own
 * "Connection terminated by user" style messages out.
 */
const MESSAGE_KINDS: ReadonlyMap<string, PgFailureKind> = new Map<string, PgFailureKind>([
  // Client: the socket closed under a pending query (…unexpectedly) or while the app's own
  // end() was in flight (plain). Both leave the query unanswered.
  ['Connection terminated unexpectedly', 'terminated'],
  ['Connection terminated', 'terminated'],
  // pg-pool: a new connection did not complete within connectionTimeoutMillis (it wraps the
  // client's own error as `cause`).
  ['Connection terminated due to connection timeout', 'connect_timeout'],
  // Client: its own connectionTimeoutMillis fired during connect (a stream error, no code).
  ['timeout expired', 'connect_timeout'],
  // Client: its query_timeout fired with no answer from the server. A hung server answers
  // nothing; if this were not counted, a half-open breaker would close on it.
  ['Query read timeout', 'query_timeout'],
  // pg-pool: no client became available within connectionTimeoutMillis while the pool was full.
  ['timeout exceeded when trying to connect', 'pool_timeout'],
  // Client: a query issued after the connection already broke.
  ['Client has encountered a connection error and is not queryable', 'not_queryable'],
]);

/** Programming errors never describe the server's health, whatever they wrap. */
const ARGUMENT_ERROR_NAMES: ReadonlySet<string> = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError']);

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Kind for a five-character SQLSTATE, or null when the class is not an outage. */
function sqlstateKind(code: string): PgFailureKind | null {
  switch (code.slice(0, 2)) {
    case '08': // connection exception
      return 'sqlstate_08';
    case '53': // insufficient resources: too many connections, out of memory, disk full
      return 'sqlstate_53';
    case '58': // system error: I/O errors outside Postgres
      return 'sqlstate_58';
    case '57':
      // 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up or
      // shutting down). 57014 is a cancel the app asked for (statement_timeout, pg_cancel_backend).
      if (code === '57P01') return 'sqlstate_57P01';
      if (code === '57P02') return 'sqlstate_57P02';
      if (code === '57P03') return 'sqlstate_57P03';
      return null;
    default:
      return null;
  }
}

/** Client-side timeouts while waiting on the server: failures, counted as `timeout`. */
const TIMEOUT_KINDS: ReadonlySet<PgFailureKind> = new Set<PgFailureKind>(['connect_timeout', 'query_timeout']);

/**
 * Verdict from one error object's own fields: a kind, null for "definitely not", or
 * undefined for "nothing here, look at what it wraps".
 */
function classifyOne(err: unknown): PgFailureKind | null | undefined {
  const code = readString(err, 'code');
  if (code !== undefined) {
    // Socket codes first: EPIPE is five capitals and would otherwise read as a SQLSTATE.
    if (SOCKET_CODES.has(code)) return 'socket';
    if (SQLSTATE.test(code)) return sqlstateKind(code);
    // Any other code (ERR_* argument errors, ECIRCUITOPEN, ...) is something we do not count.
    return null;
  }
  const name = readString(err, 'name');
  if (name !== undefined && ARGUMENT_ERROR_NAMES.has(name)) return null;
  const message = readString(err, 'message');
  if (message !== undefined) {
    const kind = MESSAGE_KINDS.get(message);
    if (kind !== undefined) return kind;
  }
  return undefined;
}

/**
 * Why `err` counts as a Postgres outage, as a short bounded label for logs, or null when it
 * does not (including for null, strings and anything unrecognised). Never throws.
 */
export function pgFailureKind(err: unknown): PgFailureKind | null {
  return walkErrorChain(err, classifyOne) ?? null;
}

/**
 * True when `err` means Postgres is down, unreachable or overloaded: socket errors,
 * pg's "Connection terminated" errors, pool and client connect timeouts, and SQLSTATE classes
 * 08, 53, 58 and 57P01-57P03. False for SQL, data, constraint, auth, serialization and
 * deadlock errors, cancels, misuse and anything unknown. Never throws.
 */
export function isPgFailure(err: unknown): boolean {
  return pgFailureKind(err) !== null;
}

/** A SQLSTATE on the error or what it wraps: the server itself answered. */
function answeredByServer(err: unknown): true | undefined {
  const code = readString(err, 'code');
  return code !== undefined && SQLSTATE.test(code) && !SOCKET_CODES.has(code) ? true : undefined;
}

/**
 * What `err` says about Postgres (docs/configuration.md, "What counts as evidence"):
 * - `'failure'`: an outage, as {@link isPgFailure};
 * - `'timeout'`: pg's own client-side timeouts while waiting on the server (query_timeout,
 *   connectionTimeoutMillis on connect);
 * - `'ignored'`: the server answered with an error (any other SQLSTATE: SQL, data,
 *   constraint, auth, serialization, deadlock, cancel): it is up;
 * - `'no_evidence'`: anything else (misuse of a client, argument errors, unknown errors): the
 *   call may never have reached the server.
 * Never throws.
 */
export function pgVerdict(err: unknown): ErrorVerdict {
  const kind = pgFailureKind(err);
  if (kind !== null) return TIMEOUT_KINDS.has(kind) ? 'timeout' : 'failure';
  return walkErrorChain(err, answeredByServer) === true ? 'ignored' : 'no_evidence';
}

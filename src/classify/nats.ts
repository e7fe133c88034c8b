/**
 * Which errors from the `nats` client (2.x) mean "the NATS server is unreachable or
 * unhealthy" and therefore count against the `nats` breaker (DESIGN.md §3).
 *
 * The client is never imported at run time: codes are compared as strings so that this
 * file works with whichever copy of `nats` the app loaded (and with none at all).
 */
import { readProp, readString, walkErrorChain } from './common';

/** Kinds that count as failures of the NATS dependency. */
export type NatsFailureKind =
  'connection_refused' | 'connection_reset' | 'unreachable' | 'dns' | 'timeout' | 'disconnect' | 'connection_closed' | 'server_limit';

/** Kinds that reach the caller but are not the dependency's fault (counted as `ignored`). */
export type NatsIgnoredKind = 'no_responders' | 'permission' | 'auth' | 'lifecycle' | 'usage' | 'protocol' | 'jetstream' | 'other';

/** A short reason from a bounded set, safe as a log field or span attribute. */
export type NatsErrorKind = NatsFailureKind | NatsIgnoredKind;

const FAILURE_KINDS: ReadonlySet<NatsErrorKind> = new Set<NatsFailureKind>([
  'connection_refused',
  'connection_reset',
  'unreachable',
  'dns',
  'timeout',
  'disconnect',
  'connection_closed',
  'server_limit',
]);

const CODE_KINDS: ReadonlyMap<string, NatsErrorKind> = new Map<string, NatsErrorKind>([
  ['CONNECTION_REFUSED', 'connection_refused'],
  // TIMEOUT is what a request, a flush or the initial connect rejects with when the server
  // (or the path to it) stops answering; it is also what in-flight requests get when the
  // client gives up reconnecting (MuxSubscription.close()).
  ['TIMEOUT', 'timeout'],
  ['CONNECTION_TIMEOUT', 'timeout'],
  ['DISCONNECT', 'disconnect'],
  // Besides "the client gave up reconnecting", this is also what an app gets for using a
  // connection it closed itself. DESIGN.md counts it: a closed connection makes every
  // later call fail, so treating it as "down" is what stops the retry storm.
  ['CONNECTION_CLOSED', 'connection_closed'],

  // Socket errors that the client passes through unwrapped (only ECONNREFUSED is wrapped).
  ['ECONNREFUSED', 'connection_refused'],
  ['ECONNRESET', 'connection_reset'],
  ['EPIPE', 'connection_reset'],
  ['ECONNABORTED', 'connection_reset'],
  ['ETIMEDOUT', 'timeout'],
  ['EHOSTUNREACH', 'unreachable'],
  ['ENETUNREACH', 'unreachable'],
  ['EHOSTDOWN', 'unreachable'],
  ['ENETDOWN', 'unreachable'],
  ['ENOTFOUND', 'dns'],
  ['EAI_AGAIN', 'dns'],

  // A request that reached the server but found no subscriber: the server is fine, the
  // service behind the subject is not ours to judge. JetStreamNotEnabled shares "503".
  ['503', 'no_responders'],
  ['PERMISSIONS_VIOLATION', 'permission'],
  // Credentials are configuration, like SQLSTATE class 28 for pg: a breaker cannot fix
  // them and opening it would only hide the real message.
  ['AUTHORIZATION_VIOLATION', 'auth'],
  ['AUTHENTICATION_EXPIRED', 'auth'],
  ['AUTHENTICATION_TIMEOUT', 'auth'],
  ['ACCOUNT_EXPIRED', 'auth'],
  ['BAD_AUTHENTICATION', 'auth'],
  ['BAD_CREDS', 'auth'],
  // Only reachable through the app's own drain()/unsubscribe()/cancel; counting them
  // would open the breaker during every graceful shutdown.
  ['CONNECTION_DRAINING', 'lifecycle'],
  ['SUB_CLOSED', 'lifecycle'],
  ['SUB_DRAINING', 'lifecycle'],
  ['CANCELLED', 'lifecycle'],
  ['BAD_SUBJECT', 'usage'],
  ['BAD_PAYLOAD', 'usage'],
  ['BAD_JSON', 'usage'],
  ['BAD_HEADER', 'usage'],
  ['BAD API', 'usage'],
  ['INVALID_OPTION', 'usage'],
  ['INVALID_PAYLOAD', 'usage'],
  ['MAX_PAYLOAD_EXCEEDED', 'usage'],
  ['NOT_FUNC', 'usage'],
  ['SERVER_OPT_NA', 'usage'],
  ['WSS_REQUIRED', 'usage'],
  ['TLS', 'usage'],
  // JetStream answers (no messages, pull expired, max ack pending...) are application
  // level: the server answered.
  ['404', 'jetstream'],
  ['408', 'jetstream'],
  ['409', 'jetstream'],
  ['JESTREAM_INVALID_ACK', 'jetstream'],
  ['IDLE_HEARTBEAT', 'jetstream'],
]);

// The server reports these as a generic protocol error (-ERR) and then drops the client;
// they say the server is overloaded or the link is stale, not that the app misbehaved.
const SERVER_LIMIT_MESSAGE = /stale connection|maximum connections exceeded|slow consumer/i;

/**
 * True when `err` says the NATS server could not be reached or stopped answering:
 * refused/reset/timed-out connections, disconnects and closed connections. False for
 * no-responders (also JetStream's "503"), permission and auth errors, bad arguments,
 * the app's own drain/close races and anything unrecognised. Never throws.
 */
export function isNatsFailure(err: unknown): boolean {
  return FAILURE_KINDS.has(natsFailureKind(err));
}

/**
 * A bounded reason for `err` (one of {@link NatsErrorKind}); `isNatsFailure(err)` is true
 * exactly for the {@link NatsFailureKind} values. Never throws.
 */
export function natsFailureKind(err: unknown): NatsErrorKind {
  try {
    return walkErrorChain(err, ownKind) ?? 'other';
  } catch {
    return 'other';
  }
}

/** The kind `err` itself (or the error it chains, for a NatsError) shows, else undefined. */
function ownKind(err: unknown): NatsErrorKind | undefined {
  const kind = codeKind(err);
  if (kind !== undefined) return kind;
  // NatsError keeps the socket error it wraps in `chainedError`, not `cause`.
  const chained = readProp(err, 'chainedError');
  return chained !== undefined && chained !== err ? codeKind(chained) : undefined;
}

function codeKind(err: unknown): NatsErrorKind | undefined {
  const code = readString(err, 'code');
  if (code !== undefined) {
    const known = CODE_KINDS.get(code);
    if (known !== undefined) return known;
    if (code === 'NATS_PROTOCOL_ERR') {
      return SERVER_LIMIT_MESSAGE.test(readString(err, 'message') ?? '') ? 'server_limit' : 'protocol';
    }
  }
  // A JetStream API error carries the server's answer; whatever its code, the server is up.
  return readProp(err, 'api_error') !== undefined ? 'jetstream' : undefined;
}

/**
 * Which errors emitted by a `ws` client (7.x and 8.x) mean "the WebSocket peer is down or
 * unreachable" and therefore count against the `websocket` breaker (DESIGN.md §3).
 *
 * `ws` gives most handshake errors no `code`, only a message, so those messages are
 * matched exactly; they are the same in ws 7 and 8.
 */
import type { ErrorVerdict } from '../core/types';
import { isObjectLike, readString, walkErrorChain } from './common';

/** Kinds that count as failures of the WebSocket dependency. */
export type WsFailureKind =
  'connection_refused' | 'connection_reset' | 'timeout' | 'unreachable' | 'dns' | 'handshake_timeout' | 'server_error';

/** Kinds that reach the caller but are not the peer's unavailability (counted as `ignored`). */
export type WsIgnoredKind =
  'client_status' | 'unexpected_status' | 'invalid_argument' | 'handshake_rejected' | 'protocol' | 'not_open' | 'aborted' | 'tls' | 'other';

/** A short reason from a bounded set, safe as a log field or span attribute. */
export type WsErrorKind = WsFailureKind | WsIgnoredKind;

const FAILURE_KINDS: ReadonlySet<WsErrorKind> = new Set<WsFailureKind>([
  'connection_refused',
  'connection_reset',
  'timeout',
  'unreachable',
  'dns',
  'handshake_timeout',
  'server_error',
]);

const SOCKET_CODE_KINDS: ReadonlyMap<string, WsFailureKind> = new Map<string, WsFailureKind>([
  ['ECONNREFUSED', 'connection_refused'],
  // Also what Node's http client reports as "socket hang up": the peer closed the TCP
  // connection before answering the upgrade request.
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
]);

const UNEXPECTED_RESPONSE = /^Unexpected server response: (\d{3})$/;
const HANDSHAKE_TIMEOUT = 'Opening handshake has timed out';

// Handshake answers that prove a live peer that refused us: wrong endpoint, wrong
// subprotocol or extension, a proxy that does not speak WebSocket. Configuration, not an outage.
const HANDSHAKE_REJECTED = new Set([
  'Invalid Upgrade header',
  'Invalid Sec-WebSocket-Accept header',
  'Server sent a subprotocol but none was requested',
  'Server sent an invalid subprotocol',
  'Server sent no subprotocol',
  'Server sent a Sec-WebSocket-Extensions header but no extension was requested',
  'Invalid Sec-WebSocket-Extensions header',
  'Server indicated an extension that was not requested',
  'Maximum redirects exceeded',
]);

// OpenSSL verification codes (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE...) and
// Node's own TLS codes: a certificate problem is configuration, and opening the breaker
// would hide it behind ECIRCUITOPEN.
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_)|CERT/;

/**
 * True when `err` says the WebSocket peer could not be reached or is failing: refused,
 * reset, timed-out or unroutable connects, an opening handshake that timed out, and a
 * 5xx answer to the upgrade request. False for 4xx (and other non-101) answers, invalid
 * URLs and arguments, handshake mismatches, protocol errors in frames the peer sent
 * (a peer bug, not an outage), "WebSocket is not open", TLS errors and anything
 * unrecognised. Never throws.
 */
export function isWsFailure(err: unknown): boolean {
  return FAILURE_KINDS.has(wsFailureKind(err));
}

/**
 * Ignored kinds that prove a live peer answered us (a 4xx, a handshake or frame it got
 * wrong): a half-open trial ending so closes the breaker. The other ignored kinds (the app
 * aborted the connect, bad arguments, a socket not open, TLS, unknown) say nothing about it.
 */
const ANSWERED_KINDS: ReadonlySet<WsErrorKind> = new Set<WsIgnoredKind>([
  'client_status',
  'unexpected_status',
  'handshake_rejected',
  'protocol',
]);

/**
 * What `err` says about the WebSocket peer (docs/configuration.md, "What counts as
 * evidence"): `'failure'` as {@link isWsFailure}, except ws's own handshake timeout, which
 * is a client-side timeout waiting on the peer (`'timeout'`); `'ignored'` when the peer
 * answered; `'no_evidence'` otherwise, notably for a connect the app aborted before the
 * handshake ("WebSocket was closed before the connection was established"). Never throws.
 */
export function wsVerdict(err: unknown): ErrorVerdict {
  const kind = wsFailureKind(err);
  if (kind === 'handshake_timeout') return 'timeout';
  if (FAILURE_KINDS.has(kind)) return 'failure';
  return ANSWERED_KINDS.has(kind) ? 'ignored' : 'no_evidence';
}

/** True for HTTP statuses that count when a server answers an upgrade request with them. */
export function isWsFailureStatus(status: number): boolean {
  return status >= 500 && status <= 599;
}

/**
 * The HTTP status of an "Unexpected server response: NNN" error (the upgrade request was
 * answered with something other than 101), else null. Never throws.
 */
export function wsStatusFromError(err: unknown): number | null {
  try {
    if (!isObjectLike(err)) return null;
    const m = UNEXPECTED_RESPONSE.exec(readString(err, 'message') ?? '');
    if (m === null) return null;
    const status = Number(m[1]);
    return status >= 100 && status <= 599 ? status : null;
  } catch {
    return null;
  }
}

/**
 * A bounded reason for `err` (one of {@link WsErrorKind}); `isWsFailure(err)` is true
 * exactly for the {@link WsFailureKind} values. Never throws.
 */
export function wsFailureKind(err: unknown): WsErrorKind {
  try {
    return walkErrorChain(err, ownKind) ?? 'other';
  } catch {
    return 'other';
  }
}

function ownKind(err: unknown): WsErrorKind | undefined {
  const code = readString(err, 'code');
  if (code !== undefined) {
    const socketKind = SOCKET_CODE_KINDS.get(code);
    if (socketKind !== undefined) return socketKind;
    // ws 8 tags every frame-level violation by the peer (bad opcode, bad UTF-8, payload
    // over maxPayload...) with WS_ERR_*; the peer is up and talking.
    if (code.startsWith('WS_ERR_')) return 'protocol';
    if (TLS_CODE.test(code)) return 'tls';
    if (code === 'ERR_INVALID_URL' || code === 'ERR_INVALID_ARG_TYPE' || code === 'ERR_INVALID_ARG_VALUE') {
      return 'invalid_argument';
    }
  }

  const message = readString(err, 'message') ?? '';
  if (message === HANDSHAKE_TIMEOUT) return 'handshake_timeout';

  const status = wsStatusFromError(err);
  if (status !== null) {
    if (isWsFailureStatus(status)) return 'server_error';
    return status >= 400 && status <= 499 ? 'client_status' : 'unexpected_status';
  }

  if (HANDSHAKE_REJECTED.has(message)) return 'handshake_rejected';
  if (message.startsWith('WebSocket is not open')) return 'not_open';
  if (message === 'WebSocket was closed before the connection was established') return 'aborted';
  // ws 7 throws a plain Error for a URL without a host.
  if (message.startsWith('Invalid URL:')) return 'invalid_argument';

  const name = readString(err, 'name');
  // ws throws SyntaxError for bad URLs/subprotocols and RangeError for a bad protocolVersion.
  if (name === 'SyntaxError' || name === 'RangeError' || name === 'TypeError') return 'invalid_argument';

  return undefined;
}

/**
 * Calls made while the breaker is closed and the client is between a disconnect and its
 * reconnect. nats.js rides that out by itself: a publish is buffered and sent once back, a
 * subscription is sent on reconnect, a request or flush settles as the library settles it.
 * So the call goes to the library exactly as without us, is never handed to a fallback, and
 * its outcome is recorded (the metrics still show it) without being evidence either way: the
 * reconnect attempts judge the outage (nats-gate.ts).
 */
import { FAILURE, IGNORED, SUCCESS, type OperationIndex } from '../core/internal';
import type { ManagedBreaker } from '../registry';
import type { NatsConnectionLike, NatsProtocolLike } from './nats-internals';
import type { AnyFunction } from '../core/callable';

type Breaker = ManagedBreaker['breaker'];

/** Between a disconnect and the reconnect (not closed for good). */
export function isReconnecting(protocol: NatsProtocolLike | undefined): boolean {
  if (protocol === undefined || protocol.connected !== false) return false;
  try {
    return protocol.isClosed?.() !== true;
  } catch {
    return false;
  }
}

/** A synchronous call (publish, subscribe): returns or throws as the library does. */
export function syncWhileReconnecting(
  breaker: Breaker,
  fn: AnyFunction,
  nc: NatsConnectionLike,
  args: unknown[],
  op: OperationIndex,
): unknown {
  const start = breaker.now();
  let value: unknown;
  try {
    value = fn.apply(nc, args);
  } catch (err) {
    recordError(breaker, op, start, err);
    throw err;
  }
  breaker.observe(op, SUCCESS, start);
  return value;
}

/** A promise call (request, flush): settles as the library's promise settles. */
export function asyncWhileReconnecting(
  breaker: Breaker,
  fn: AnyFunction,
  nc: NatsConnectionLike,
  args: unknown[],
  op: OperationIndex,
): Promise<unknown> {
  const start = breaker.now();
  let result: unknown;
  try {
    result = fn.apply(nc, args);
  } catch (err) {
    recordError(breaker, op, start, err);
    return Promise.reject(err);
  }
  return Promise.resolve(result).then(
    (value) => {
      breaker.observe(op, SUCCESS, start);
      return value;
    },
    (err: unknown) => {
      recordError(breaker, op, start, err);
      throw err;
    },
  );
}

function recordError(breaker: Breaker, op: OperationIndex, start: number, err: unknown): void {
  breaker.observe(op, breaker.counts(err) ? FAILURE : IGNORED, start);
}

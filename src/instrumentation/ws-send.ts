/**
 * Sends on ws sockets: a client send goes through its origin's breaker (refused while open,
 * the way ws refuses a send it cannot make); a server send is only recorded (slow consumers).
 */
import type { AnyFunction } from '../core/callable';
import type { CircuitBreaker } from '../core/circuit-breaker';
import { REJECT, SUCCESS, type OperationIndex, type Permit } from '../core/internal';
import type { ModuleGuard } from './module-guard';
import type { WsSocket } from './ws-internal-types';
import { backpressuredDuration, originFromUrl, serverTarget } from './ws-targets';

/** `WebSocket.OPEN`: the socket's readyState once the handshake is done (not a breaker state). */
const WS_READY_STATE_OPEN = 1;

/** A send the breaker admitted, until ws reports it written (or it threw). */
interface AdmittedSend {
  readonly breaker: CircuitBreaker;
  readonly permit: Permit;
  readonly start: number;
  readonly op: OperationIndex;
  /** It found more than `max_buffered_amount` bytes queued. */
  readonly slow: boolean;
}

export class WsSend {
  /** Off between unpatch() and the next patch(): wrappers left in another tool's chain pass through. */
  enabled = false;
  /** Client WebSocket → origin; server-side WebSocket → `server:<port>`. */
  private readonly targets = new WeakMap<object, string>();

  constructor(
    private readonly moduleGuard: ModuleGuard,
    private readonly limit: number,
  ) {}

  /** The origin a connect was admitted for, so its sends need not parse the URL again. */
  rememberOrigin(websocket: object, origin: string): void {
    this.targets.set(websocket, origin);
  }

  /**
   * While the origin's breaker is open, a send is refused the way ws refuses a send it
   * cannot make: a callback gets the error asynchronously, without one it is thrown (what
   * ws does while connecting). A send that found more than `max_buffered_amount` bytes
   * queued counts as slow; with a callback, the time until ws reports the write is measured.
   */
  clientSend(original: AnyFunction, websocket: WsSocket, args: unknown[]): unknown {
    const origin = this.clientOrigin(websocket);
    if (origin === null) return original.apply(websocket, args);
    const entry = this.moduleGuard.entry(origin);
    const breaker = entry.breaker;
    const op = this.moduleGuard.op(entry, 'send');
    const start = breaker.now();
    const token = breaker.acquire(start);
    // ws: send(data, cb) or send(data, options, cb).
    const cbIndex = typeof args[1] === 'function' ? 1 : typeof args[2] === 'function' ? 2 : -1;
    if (token === REJECT) {
      const err = breaker.rejection(start, op);
      if (cbIndex < 0) throw err;
      process.nextTick(args[cbIndex] as (e: Error) => void, err);
      return undefined;
    }
    const admitted: AdmittedSend = { breaker, permit: token, start, op, slow: websocket.bufferedAmount > this.limit };
    if (cbIndex < 0) return this.sendNow(original, websocket, args, admitted);

    const callback = args[cbIndex] as AnyFunction;
    let settled = false;
    const patched = Array.prototype.slice.call(args) as unknown[];
    patched[cbIndex] = function (this: unknown, err?: unknown): unknown {
      if (!settled) {
        settled = true;
        if (err === null || err === undefined) finishSend(admitted);
        else breaker.releaseError(token, err, start, op);
      }
      // eslint-disable-next-line prefer-rest-params
      return callback.apply(this, arguments as unknown as unknown[]);
    };
    try {
      return original.apply(websocket, patched);
    } catch (err) {
      if (!settled) {
        settled = true;
        breaker.releaseError(token, err, start, op);
      }
      throw err;
    }
  }

  /**
   * A server-side send is never refused: the breaker of one server is shared by all its
   * clients, and refusing a send to a healthy client because another one is slow would be
   * wrong. It records, so a slow consumer shows in the metrics and, with
   * `slow_call_duration`/`slow_call_rate`, in the server breaker's state.
   */
  serverSend(original: AnyFunction, websocket: WsSocket, args: unknown[]): unknown {
    let target = this.targets.get(websocket);
    if (target === undefined) {
      target = serverTarget(websocket._socket?.localPort);
      if (target !== 'server') this.targets.set(websocket, target);
    }
    const entry = this.moduleGuard.entry(target);
    const breaker = entry.breaker;
    const start = breaker.now();
    const token = breaker.acquire(start);
    // Open (or its trial slot taken): let the send through unrecorded rather than refuse it.
    if (token === REJECT) return original.apply(websocket, args);
    const slow = websocket.bufferedAmount > this.limit;
    return this.sendNow(original, websocket, args, { breaker, permit: token, start, op: this.moduleGuard.op(entry, 'send'), slow });
  }

  private sendNow(original: AnyFunction, websocket: WsSocket, args: unknown[], send: AdmittedSend): unknown {
    let result: unknown;
    try {
      result = original.apply(websocket, args);
    } catch (err) {
      send.breaker.releaseError(send.permit, err, send.start, send.op);
      throw err;
    }
    finishSend(send);
    return result;
  }

  private clientOrigin(websocket: WsSocket): string | null {
    const cached = this.targets.get(websocket);
    if (cached !== undefined) return cached;
    const origin = originFromUrl(websocket._url);
    if (origin !== null) this.targets.set(websocket, origin);
    return origin;
  }
}

/** The patch of `WebSocket.prototype.send`: client sends through their origin's breaker, server sends recorded. */
export function getSendPatch(sends: WsSend): (original: AnyFunction) => AnyFunction {
  return function patchSend(original) {
    return function send(this: unknown): unknown {
      // The arguments object itself (no copy on the hot path); copied only to swap a callback.
      // eslint-disable-next-line prefer-rest-params
      const args = arguments as unknown as unknown[];
      const websocket = this as WsSocket;
      // A socket that is not open does no I/O: ws throws (connecting) or reports
      // "not open" itself (closing, closed), and that stays its business.
      if (!sends.enabled || websocket.readyState !== WS_READY_STATE_OPEN) return original.apply(this, args);
      return websocket._isServer === true ? sends.serverSend(original, websocket, args) : sends.clientSend(original, websocket, args);
    };
  };
}

/** Reports an admitted send that ws took without throwing; a slow one is backdated by its wait. */
function finishSend(send: AdmittedSend): void {
  const end = send.breaker.now();
  // Backdate the start rather than move the end: the end is when a transition is stamped.
  const from = send.slow ? end - backpressuredDuration(end - send.start, send.breaker.slowCallThresholdMs) : send.start;
  send.breaker.release(send.permit, SUCCESS, from, end, send.op);
}

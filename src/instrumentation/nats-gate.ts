/**
 * How nats calls and connection events meet the breaker: the gate each patched method goes
 * through, what the connection's status events count for, and the half-open probe.
 *
 * Why nats needs more than `invoke`/`invokeSync`:
 * - `publish` is synchronous and, while the client is disconnected, only appends to a buffer
 *   the client empties at its next redial: it "succeeds" and the message is lost. So the
 *   connection's own status events (disconnect → failure, reconnect → success) feed the
 *   breaker, and a publish made while disconnected counts as a failure (its message goes to
 *   the fallback when there is one, otherwise the client gets it exactly as without us).
 * - The half-open trial must not be an app call. A request whose responder lives in the same
 *   process needs that responder's `msg.respond` to reach the server; if calls were the
 *   trials, the trial request could be the one call let through while everything else waits,
 *   and an app whose only traffic is such requests could starve recovery. So the trial is a
 *   server round trip (a PING/PONG flush on the connection the app already has: no
 *   subscription, inbox or timer of ours), started by the first call that finds the breaker
 *   ready for a trial; that call, and every other, is rejected until the probe answers.
 *   Probes take every trial slot (`half_open_max_calls`), so no app call ever becomes a
 *   trial, and `msg.respond` is never a guarded call at all.
 */
import { REJECT } from '../core/circuit-breaker';
import { FAILURE, IGNORED, SUCCESS } from '../core/recorder';
import type { ManagedBreaker } from '../registry';
import type { ModuleGuard } from './module-guard';
import { natsError, type NatsConnectionLike, type NatsProtocolLike, type NatsStatusLike } from './nats-internals';
import { connectTarget } from './nats-target';

/**
 * Operation label of what breakerbox observes on a connection by itself (status events and
 * half-open probes), as opposed to calls the app made. Always recorded: it is what tells the
 * breaker the server is gone or back.
 */
export const CONNECTION_OPERATION = 'connection';

/** `DebugEvents.ClientInitiatedReconnect`: the app called `nc.reconnect()`. */
const CLIENT_RECONNECT = 'client initiated reconnect';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

export class NatsGate {
  /** Handlers whose next disconnect the app asked for (`nc.reconnect()`): not an outage. */
  private readonly planned = new WeakSet<object>();
  /** Index of CONNECTION_OPERATION per breaker, resolved once (never an app operation label). */
  private readonly connectionOps = new WeakMap<ManagedBreaker, number>();

  constructor(readonly guard: ModuleGuard) {}

  /** The breaker for calls on `nc`: the child for the server it is on when per-target. */
  entryFor(nc: NatsConnectionLike): ManagedBreaker {
    if (!this.guard.perTarget) return this.guard.entry();
    const listen = nc.protocol?.server?.listen;
    return typeof listen === 'string' && listen !== '' ? this.guard.entry(listen) : this.guard.entry();
  }

  /** `NatsConnectionImpl.connect(opts)`: when half-open, the connect itself is the trial (it is a round trip and needs no other call). */
  connect(original: AnyFunction, thisArg: unknown, args: unknown[]): Promise<unknown> {
    const entry = this.guard.perTarget ? this.guard.entry(connectTarget(args[0])) : this.guard.entry();
    return entry.breaker.invoke(original, thisArg, args, this.guard.op(entry, 'connect'), false);
  }

  /** A promise-returning call on a connection (request, flush). */
  callAsync(fn: AnyFunction, nc: NatsConnectionLike, args: unknown[], operation: string): Promise<unknown> {
    const entry = this.entryFor(nc);
    const breaker = entry.breaker;
    if (breaker.state !== 'closed') this.fillProbes(entry, nc);
    return breaker.invoke(fn, nc, args, this.guard.op(entry, operation), false);
  }

  /** `publish`: synchronous; returns, or throws BreakerOpenError, or returns the fallback's result. */
  publish(original: AnyFunction, nc: NatsConnectionLike, args: unknown[], operation: string): unknown {
    return this.callSync(original, nc, args, operation, publishWhileDisconnected);
  }

  /** `subscribe`: synchronous; only connection-level errors (a closed connection) count against the server. */
  subscribe(original: AnyFunction, nc: NatsConnectionLike, args: unknown[], operation: string): unknown {
    return this.callSync(original, nc, args, operation, subscribeWhileDisconnected);
  }

  /**
   * A synchronous call: when the breaker is not closed it decides (and a probe starts); when
   * closed and connected it is an ordinary guarded call; when closed but disconnected,
   * `whileDisconnected` makes the call and says what it counts for.
   */
  private callSync(original: AnyFunction, nc: NatsConnectionLike, args: unknown[], operation: string, whileDisconnected: WhileDisconnected): unknown {
    const entry = this.entryFor(nc);
    const breaker = entry.breaker;
    const op = this.guard.op(entry, operation);
    if (breaker.state !== 'closed') {
      this.fillProbes(entry, nc);
      return breaker.invokeSync(original, nc, args, op);
    }
    if (!isDisconnected(nc.protocol)) return breaker.invokeSync(original, nc, args, op);
    return whileDisconnected(breaker, original, nc, args, op);
  }

  /** Called for every status event of every connection (`ProtocolHandler.prototype.dispatchStatus`). Never throws. */
  observeStatus(handler: NatsProtocolLike, status: NatsStatusLike | undefined): void {
    try {
      const type = status?.type;
      if (type === CLIENT_RECONNECT) {
        this.planned.add(handler);
        return;
      }
      if (type !== 'disconnect' && type !== 'reconnect') return;
      // Before the first connect completed (refused, auth rejected...), what happened is the
      // outcome of the connect() call, counted there once.
      if (handler.connectedOnce !== true) return;
      const data = status?.data;
      const entry = this.guard.entry(typeof data === 'string' && data !== '' ? data : undefined);
      const nc = (handler.publisher ?? {}) as NatsConnectionLike;
      if (type === 'disconnect') {
        if (this.planned.delete(handler)) return;
        this.note(entry, natsError(handler, 'DISCONNECT'));
      } else {
        this.note(entry, null);
        // Back on the server: when the breaker is due for a trial, run it now rather than on
        // the app's next call, so recovery does not wait for traffic.
        if (handler.publisher !== undefined) this.fillProbes(entry, nc);
      }
    } catch {
      // Observing must never break the client's status delivery.
    }
  }

  /**
   * Records a connection event: `err` null for a success. While closed it counts like a call
   * (a disconnect adds to the failure streak, a reconnect ends it); otherwise it is only
   * recorded, because trials are the probes' business.
   */
  private note(entry: ManagedBreaker, err: Error | null): void {
    const breaker = entry.breaker;
    const op = this.connectionOp(entry);
    const now = breaker.now();
    if (breaker.state !== 'closed') {
      breaker.recorder?.record(op, err === null ? SUCCESS : breaker.counts(err) ? FAILURE : IGNORED, 0);
      return;
    }
    const token = breaker.acquire(now);
    if (err === null) breaker.release(token, SUCCESS, now, now, op);
    else breaker.releaseError(token, err, now, op);
  }

  /**
   * When the breaker is due for a trial (open past its reset timeout, or half-open with a free
   * slot), takes every free trial slot with a probe on `nc`. Enforce mode only: metrics_only
   * never rejects, so its calls may be trials without starving anything.
   */
  fillProbes(entry: ManagedBreaker, nc: NatsConnectionLike): void {
    const breaker = entry.breaker;
    if (breaker.mode !== 'enforce') return;
    const slots = breaker.options.halfOpenMaxCalls;
    for (let i = 0; i < slots; i++) {
      const state = breaker.state;
      if (state === 'open') {
        const retryAt = breaker.retryAt;
        if (retryAt === null || breaker.now() < retryAt) return;
      } else if (state !== 'half_open') {
        return;
      }
      const start = breaker.now();
      const token = breaker.acquire(start);
      if (token === REJECT) return;
      this.probe(entry, nc, token, start);
    }
  }

  /** One PING/PONG round trip on the app's connection, settling the trial `token`. */
  private probe(entry: ManagedBreaker, nc: NatsConnectionLike, token: number, start: number): void {
    const breaker = entry.breaker;
    const op = this.connectionOp(entry);
    const protocol = nc.protocol;
    // Not connected: no round trip can succeed now, and a PING queued behind a dead socket
    // would only be failed at the next redial. Fail the trial at once.
    if (protocol === undefined || typeof protocol.flush !== 'function' || protocol.isClosed?.() === true) {
      breaker.releaseError(token, natsError(protocol, 'CONNECTION_CLOSED'), start, op);
      return;
    }
    if (protocol.connected !== true) {
      breaker.releaseError(token, natsError(protocol, 'DISCONNECT'), start, op);
      return;
    }
    let pong: Promise<unknown>;
    try {
      // The handler's flush, not `nc.flush`: the latter may be our guarded wrapper, and the
      // probe must not be gated by the breaker it is probing.
      pong = protocol.flush();
    } catch (err) {
      breaker.releaseError(token, err, start, op);
      return;
    }
    pong.then(
      () => {
        breaker.release(token, SUCCESS, start, breaker.now(), op);
        // success_threshold > 1: keep probing until the breaker closes or a probe fails.
        this.fillProbes(entry, nc);
      },
      (err: unknown) => {
        breaker.releaseError(token, err, start, op);
      },
    );
  }

  private connectionOp(entry: ManagedBreaker): number {
    let op = this.connectionOps.get(entry);
    if (op === undefined) {
      op = entry.stats.operationIndex(CONNECTION_OPERATION);
      this.connectionOps.set(entry, op);
    }
    return op;
  }
}

type Breaker = ManagedBreaker['breaker'];

/** What a synchronous call made while the breaker is closed but the client disconnected counts for. */
type WhileDisconnected = (breaker: Breaker, original: AnyFunction, nc: NatsConnectionLike, args: unknown[], op: number) => unknown;

/** A publish while disconnected: the message is lost at the next redial, so it is a failure. */
function publishWhileDisconnected(breaker: Breaker, original: AnyFunction, nc: NatsConnectionLike, args: unknown[], op: number): unknown {
  const lost = natsError(nc.protocol, 'DISCONNECT');
  if (breaker.hasFallback()) {
    // The fallback takes the message; buffering it as well would only feed the buffer the
    // client discards at its next redial.
    return breaker.invokeSync(() => {
      throw lost;
    }, nc, args, op);
  }
  const start = breaker.now();
  const value = applyCountingThrows(breaker, original, nc, args, op, start);
  breaker.releaseError(breaker.acquire(start), lost, start, op);
  return value;
}

/** A subscribe while disconnected: sent when the client reconnects. */
function subscribeWhileDisconnected(breaker: Breaker, original: AnyFunction, nc: NatsConnectionLike, args: unknown[], op: number): unknown {
  const start = breaker.now();
  const value = applyCountingThrows(breaker, original, nc, args, op, start);
  // Made while disconnected, the subscription is sent when the client reconnects: the call
  // succeeded for the app, but says nothing about the server, so it must not end the
  // failure streak the disconnect started. Recorded, not released.
  breaker.recorder?.record(op, SUCCESS, breaker.now() - start);
  return value;
}

/** Call the client's own method; what it throws is released as this call's error and rethrown. */
function applyCountingThrows(breaker: Breaker, original: AnyFunction, nc: NatsConnectionLike, args: unknown[], op: number, start: number): unknown {
  try {
    return original.apply(nc, args);
  } catch (err) {
    breaker.releaseError(breaker.acquire(start), err, start, op);
    throw err;
  }
}

/** Between a disconnect and the reconnect: the client buffers writes it will discard. */
function isDisconnected(protocol: NatsProtocolLike | undefined): boolean {
  if (protocol === undefined || protocol.connected !== false) return false;
  try {
    return protocol.isClosed?.() !== true;
  } catch {
    return false;
  }
}

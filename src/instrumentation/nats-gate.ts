/**
 * How nats calls and connection events meet the breaker: the gate each patched method goes
 * through, what the connection's own reconnect loop counts for, and the half-open probe.
 *
 * Why nats needs more than `invoke`/`invokeSync`:
 * - nats.js rides out a lost server by itself: it redials (every `reconnectTimeWait`, 2 s by
 *   default) and meanwhile `publish` appends to a buffer that it sends once back (keeping
 *   what was published after its last dial began). A disconnect is therefore no failure, and
 *   while the breaker is closed a call made in between goes to nats.js exactly as without us:
 *   never to a fallback, never counted either way. What the connection itself sees is the
 *   evidence: `reconnect_failures` failed reconnect attempts in a row open the breaker at
 *   once (the outage outlasted the blip nats.js rides out), and a reconnect while open is
 *   recovery evidence acted on at once (half-open, and a probe runs now), so a breaker with
 *   no app traffic (a subscribe-only app) does not stay open after the server came back.
 * - The half-open trial must not be an app call. A request whose responder lives in the same
 *   process needs that responder's `msg.respond` to reach the server; if calls were the
 *   trials, the trial request could be the one call let through while everything else waits,
 *   and an app whose only traffic is such requests could starve recovery. So the trial is a
 *   server round trip (a PING/PONG flush on the connection the app already has: no
 *   subscription, inbox or timer of ours), started by the first call that finds the breaker
 *   ready for a trial, or by the reconnect itself; that call, and every other, is rejected
 *   until the probe answers. Probes take every trial slot (`half_open_max_calls`), so no app
 *   call ever becomes a trial, and `msg.respond` is never a guarded call at all.
 */
import { callOptions, FAILURE, IGNORED, REJECT, SUCCESS, type OperationIndex, type Permit } from '../core/internal';
import { DEFAULT_RECONNECT_FAILURES } from '../config/schema';
import type { ManagedBreaker } from '../registry';
import { operationFallback } from '../registry/operation-fallbacks';
import type { ModuleGuard } from './module-guard';
import { divertAsync, divertSync } from './nats-fallback';
import { natsError, type NatsConnectionLike, type NatsProtocolLike, type NatsStatusLike } from './nats-internals';
import { CONNECT_HOOKS } from './nats-late';

const CONNECT_CALL = callOptions({ hooks: CONNECT_HOOKS });
import { asyncWhileReconnecting, isReconnecting, syncWhileReconnecting } from './nats-reconnecting';
import { connectTarget } from './nats-target';
import { type AnyFunction, isThenable } from '../core/callable';

/**
 * Operation label of what breakerbox observes on a connection by itself (status events and
 * half-open probes), as opposed to calls the app made. Always recorded: it is what tells the
 * breaker the server is gone or back.
 */
export const CONNECTION_OPERATION = 'connection';

export class NatsGate {
  /** Failed reconnect attempts in a row, per ProtocolHandler that lost its server. */
  private readonly failedAttempts = new WeakMap<object, number>();
  /** Index of CONNECTION_OPERATION per breaker, resolved once (never an app operation label). */
  private readonly connectionOps = new WeakMap<ManagedBreaker, OperationIndex>();

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
    const result = entry.breaker.invoke(original, thisArg, args, this.guard.op(entry, 'connect'), CONNECT_CALL);
    return this.withOperationFallback(entry, 'connect', args, result);
  }

  /** A promise-returning call on a connection (request, flush). */
  callAsync(fn: AnyFunction, nc: NatsConnectionLike, args: unknown[], operation: string): Promise<unknown> {
    const entry = this.entryFor(nc);
    const breaker = entry.breaker;
    if (breaker.state === 'closed') {
      if (isReconnecting(nc.protocol)) return asyncWhileReconnecting(breaker, fn, nc, args, this.guard.op(entry, operation));
    } else {
      this.fillProbes(entry, nc);
    }
    const result = breaker.invoke(fn, nc, args, this.guard.op(entry, operation));
    return this.withOperationFallback(entry, operation, args, result);
  }

  /** `result`, or, when the breaker has a fallback for `operation`, `result` with that fallback taking what it should. */
  private withOperationFallback(entry: ManagedBreaker, operation: string, args: unknown[], result: Promise<unknown>): Promise<unknown> {
    const fallback = this.operationFallbackOf(entry, operation);
    if (fallback === null) return result;
    return result.then(undefined, (err: unknown) => divertAsync(entry.breaker, fallback, args, err));
  }

  /** The per-operation fallback that applies to `entry` (a per-target child uses its parent's). */
  private operationFallbackOf(entry: ManagedBreaker, operation: string): AnyFunction | null {
    return operationFallback(entry.parent === null ? entry.breaker : this.guard.entry().breaker, operation);
  }

  /** `publish`: synchronous; returns, or throws BreakerOpenError, or returns the fallback's result. */
  publish(original: AnyFunction, nc: NatsConnectionLike, args: unknown[], operation: string): unknown {
    return this.callSync(original, nc, args, operation);
  }

  /** `subscribe`: synchronous; only connection-level errors (a closed connection) count against the server. */
  subscribe(original: AnyFunction, nc: NatsConnectionLike, args: unknown[], operation: string): unknown {
    return this.callSync(original, nc, args, operation);
  }

  /**
   * A synchronous call: when closed while the client reconnects, nats.js takes it as without
   * us (nats-reconnecting.ts); when the breaker is not closed it decides (and a probe
   * starts); otherwise it is an ordinary guarded call.
   */
  private callSync(original: AnyFunction, nc: NatsConnectionLike, args: unknown[], operation: string): unknown {
    const entry = this.entryFor(nc);
    const breaker = entry.breaker;
    if (breaker.state === 'closed' && isReconnecting(nc.protocol)) {
      return syncWhileReconnecting(breaker, original, nc, args, this.guard.op(entry, operation));
    }
    const fallback = this.operationFallbackOf(entry, operation);
    if (fallback === null) return this.decideSync(entry, original, nc, args, operation);
    try {
      return this.decideSync(entry, original, nc, args, operation);
    } catch (err) {
      return divertSync(breaker, fallback, args, err);
    }
  }

  private decideSync(entry: ManagedBreaker, original: AnyFunction, nc: NatsConnectionLike, args: unknown[], operation: string): unknown {
    if (entry.breaker.state !== 'closed') this.fillProbes(entry, nc);
    return entry.breaker.invokeSync(original, nc, args, this.guard.op(entry, operation));
  }

  /** Called for every status event of every connection (`ProtocolHandler.prototype.dispatchStatus`). Never throws. */
  observeStatus(handler: NatsProtocolLike, status: NatsStatusLike | undefined): void {
    try {
      const type = status?.type;
      if (type !== 'disconnect' && type !== 'reconnect') return;
      // Before the first connect completed (refused, auth rejected...), what happened is the
      // outcome of the connect() call, counted there once.
      if (handler.connectedOnce !== true) return;
      if (type === 'disconnect') {
        // Not a failure: nats.js reconnects by itself. Its attempts are the evidence.
        this.failedAttempts.set(handler, 0);
        return;
      }
      this.failedAttempts.delete(handler);
      const data = status?.data;
      const entry = this.guard.entry(typeof data === 'string' && data !== '' ? data : undefined);
      this.noteReconnect(entry);
      // Back on a server: recovery evidence. Half-open now and probe now, rather than after
      // the reset timeout on the app's next call (which a subscribe-only app never makes).
      entry.breaker.actOnEvidence(true, 'reconnected');
      if (handler.publisher !== undefined) this.fillProbes(entry, handler.publisher as NatsConnectionLike);
    } catch {
      // Observing must never break the client's status delivery.
    }
  }

  /**
   * Called with each dial attempt the client makes (`attempt` settles with its outcome).
   * After the first connect, a failed one is a failed reconnect attempt: recorded, and the
   * `reconnect_failures`-th in a row opens the breaker. Never throws, never changes `attempt`.
   */
  observeDial(handler: NatsProtocolLike, server: unknown, attempt: unknown): void {
    try {
      if (handler.connectedOnce !== true || !isThenable(attempt)) return;
      const listen = (server as { listen?: unknown } | null | undefined)?.listen;
      const target = typeof listen === 'string' && listen !== '' ? listen : undefined;
      attempt.then(undefined, (err: unknown) => this.reconnectFailed(handler, target, err));
    } catch {
      // Observing must never break the client's reconnect loop.
    }
  }

  private reconnectFailed(handler: NatsProtocolLike, target: string | undefined, err: unknown): void {
    try {
      if (handler.isClosed?.() === true) return;
      const entry = this.guard.entry(target);
      const breaker = entry.breaker;
      const counted = breaker.counts(err);
      breaker.observe(this.connectionOp(entry), counted ? FAILURE : IGNORED, -1);
      if (!counted) return;
      const failed = (this.failedAttempts.get(handler) ?? 0) + 1;
      this.failedAttempts.set(handler, failed);
      if (failed >= (this.guard.config.reconnectFailures ?? DEFAULT_RECONNECT_FAILURES)) {
        breaker.actOnEvidence(false, 'reconnect_failures');
      }
    } catch {
      // As above: never into the client.
    }
  }

  /**
   * Records a reconnect: while closed it counts like a successful call (it ends the failure
   * streak); otherwise it is only recorded, because trials are the probes' business.
   */
  private noteReconnect(entry: ManagedBreaker): void {
    const breaker = entry.breaker;
    const op = this.connectionOp(entry);
    const now = breaker.now();
    if (breaker.state !== 'closed') {
      breaker.observe(op, SUCCESS, -1);
      return;
    }
    breaker.release(breaker.acquire(now), SUCCESS, now, now, op);
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
  private probe(entry: ManagedBreaker, nc: NatsConnectionLike, token: Permit, start: number): void {
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

  private connectionOp(entry: ManagedBreaker): OperationIndex {
    let op = this.connectionOps.get(entry);
    if (op === undefined) {
      op = entry.stats.operationIndex(CONNECTION_OPERATION);
      this.connectionOps.set(entry, op);
    }
    return op;
  }
}

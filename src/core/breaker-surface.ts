import { BreakerTimeoutError, LimitRefusalFactory, RejectionFactory, type BreakerOpenError, type ConcurrencyLimitError } from './errors';
import { BreakerEmitter, type BreakerEventName, type BreakerEvents } from './events';
import { BreakerMachine } from './breaker-machine';
import { IGNORED, LIMITED, NO_EVIDENCE, OUTCOMES, REJECTED, TIMEOUT } from './recorder';
import type { OperationIndex, OutcomeCode, Permit } from './internal';
import type { AnyFunction } from './callable';
import { judge, outcomeOfVerdict, type IsFailure } from './verdict';
import type { BreakerSnapshot, BreakerState, CircuitBreakerOptions, ErrorVerdict, TransitionReason } from './types';

type Callback = (this: unknown, ...args: unknown[]) => unknown;

/**
 * What is said to a breaker and by it besides permits: operator commands, listeners, the
 * snapshot it is saved as and restored from, the reports of calls (refused, failed, or made
 * outside a permit) and the fallback that may answer in the dependency's place. Every state
 * change still goes through `BreakerMachine.transition`.
 */
export class BreakerSurface extends BreakerMachine {
  private rejections: RejectionFactory | null = null;
  private refusals: LimitRefusalFactory | null = null;
  /** @internal */
  protected ownFallback: AnyFunction | null;
  /** Whose fallback applies: this breaker's own, or a parent's for per-target children. */
  private fallbackOwner: BreakerSurface = this;

  constructor(options: CircuitBreakerOptions) {
    super(options);
    this.ownFallback = (options.fallback as AnyFunction | undefined) ?? null;
    if (options.initialState) this.restore(options.initialState);
  }

  /** The last transition, or null if the breaker never changed state. */
  get lastTransition(): { from: BreakerState; to: BreakerState; reason: TransitionReason; at: number } | null {
    if (this.lastFrom === null || this.lastReason === null) return null;
    return { from: this.lastFrom, to: this._state, reason: this.lastReason, at: this.lastAt };
  }

  /** The concurrency limit in force now, or null when the breaker has none. */
  get concurrencyLimit(): number | null {
    return this.limiter === null ? null : this.limiter.limit;
  }

  /** Guarded calls holding a concurrency slot now (0 when the breaker has no limit). */
  get inflight(): number {
    return this.limiter === null ? 0 : this.limiter.inflight;
  }

  /** Clock time until which an open breaker rejects, or null when not open. */
  get retryAt(): number | null {
    return this._state === 'open' ? this.openedAt + this.currentResetMs : null;
  }

  /** Sets (or clears, with null: every error counts) which errors count against the dependency. Returns the breaker. */
  setIsFailure(fn: IsFailure | null): this {
    if (fn !== null && typeof fn !== 'function') {
      throw new TypeError(`CircuitBreaker "${this.name}": setIsFailure(fn): expected a function or null, got ${typeof fn}`);
    }
    this.isFailureFn = fn;
    return this;
  }

  forceOpen(): void {
    this.transition('forced_open', 'forced_open', this.clock());
  }

  close(): void {
    this.transition('closed', 'closed_by_operator', this.clock());
  }

  /** Back to closed with every count, backoff and outage forgotten. */
  reset(): void {
    const now = this.clock();
    this.outageStartedAt = null;
    this.transition('closed', 'reset', now);
    this.clearCounts();
  }

  disable(): void {
    this.outageStartedAt = null;
    this.transition('disabled', 'disabled', this.clock());
  }

  enable(): void {
    if (this._state !== 'disabled') return;
    this.transition('closed', 'enabled', this.clock());
  }

  on<K extends BreakerEventName>(name: K, fn: BreakerEvents[K]): this {
    (this.events ??= new BreakerEmitter()).on(name, fn);
    this.updateTimed();
    return this;
  }

  off<K extends BreakerEventName>(name: K, fn: BreakerEvents[K]): this {
    this.events?.off(name, fn);
    return this;
  }

  toJSON(): BreakerSnapshot {
    return {
      name: this.name,
      state: this._state,
      openedAt: this._state === 'open' || this._state === 'half_open' ? this.openedAt : null,
      currentResetTimeoutMs: this.currentResetMs,
      consecutiveFailures: this.consecutiveFailures,
      outageStartedAt: this.outageStartedAt,
    };
  }

  /**
   * @internal Acts at once on what a client saw of the dependency outside any guarded call
   * (a connection's own reconnect loop). `up`: it answers again, so an open breaker goes
   * half-open now instead of after the reset timeout, and the next trial can run at once.
   * Down (`up` false): the outage outlasted what the client rides out, so a closed breaker
   * opens. Any other state is left as it is (operator states above all).
   */
  actOnEvidence(up: boolean, reason: TransitionReason): void {
    if (this._state === (up ? 'open' : 'closed')) this.transition(up ? 'half_open' : 'open', reason, this.clock());
  }

  /**
   * @internal Another instance's trial succeeded and this open breaker holds no evidence of its
   * own against the dependency (it opened only because others saw the outage): it closes as it
   * was before, where its own calls judge its own path again. Any other state is left as it is.
   */
  closeOnEvidence(reason: TransitionReason): void {
    if (this._state === 'open') this.transition('closed', reason, this.clock());
  }

  /**
   * @internal Fleet mode: another instance runs the trial, so an open breaker keeps refusing
   * until `at` (clock time) instead of its own reset timeout, and `retryAfterMs` counts to it.
   * Only ever later: shifting the open time costs the call path nothing.
   */
  postponeTrial(at: number): void {
    if (this._state === 'open' && at > this.openedAt + this.currentResetMs) this.openedAt = at - this.currentResetMs;
  }

  private restore(s: BreakerSnapshot): void {
    // A half-open snapshot had trials in flight that no longer exist: resume as open so
    // the next call after the reset timeout runs a fresh trial.
    const state = s.state === 'half_open' ? 'open' : s.state;
    if (state !== 'closed') this.transition(state, 'restored', this.clock());
    if (s.currentResetTimeoutMs > 0) {
      this.currentResetMs = Math.min(Math.max(s.currentResetTimeoutMs, this.o.resetTimeoutMs), this.o.maxResetTimeoutMs);
    }
    // The snapshot's own times, not the restore's (transition() stamped the restore's).
    this.outageStartedAt = s.outageStartedAt;
    if (state !== 'closed') this.openedAt = s.openedAt ?? this.lastAt;
    if (this.consecutive !== null) this.consecutive.count = Math.max(0, Math.floor(s.consecutiveFailures) || 0);
  }

  /**
   * @internal Builds the error for a call `acquire` refused and reports it: a ConcurrencyLimitError
   * (outcome `limited`, no evidence) when the limit refused it, else a BreakerOpenError.
   */
  rejection(now: number, operation: OperationIndex): BreakerOpenError | ConcurrencyLimitError {
    if (this.refusedByLimit) return this.limitRefusal(operation);
    const state = this._state;
    const retryAt =
      state === 'open' ? this.openedAt + this.currentResetMs : state === 'half_open' ? this.trialsStartedAt + this.o.trialTimeoutMs : null;
    const err = (this.rejections ??= new RejectionFactory(this.name, this.clock)).make(state, retryAt);
    if (this._recorder !== null) this._recorder.record(operation, REJECTED, 0);
    if (this.events !== null && this.events.has('rejected')) {
      this.events.emit('rejected', { breaker: this.name, outcome: 'rejected', durationMs: 0, error: err });
    }
    return err;
  }

  private limitRefusal(operation: OperationIndex): ConcurrencyLimitError {
    this.refusedByLimit = false;
    const limiter = this.limiter as NonNullable<typeof this.limiter>;
    const err = (this.refusals ??= new LimitRefusalFactory(this.name)).make(limiter.limit, limiter.inflight);
    if (this._recorder !== null) this._recorder.record(operation, LIMITED, 0);
    if (this.events !== null && this.events.has('limited')) {
      this.events.emit('limited', { breaker: this.name, outcome: 'limited', durationMs: 0, error: err });
    }
    return err;
  }

  /** @internal Whether an error counts against the dependency (isFailure; a throwing isFailure counts). */
  counts(err: unknown): boolean {
    const verdict = this.verdict(err);
    return verdict === 'failure' || verdict === 'timeout';
  }

  /** @internal What `err` says about the dependency, by isFailure (a throwing isFailure counts as a failure). */
  verdict(err: unknown): ErrorVerdict {
    return judge(this.isFailureFn, err);
  }

  /** @internal The outcome index an error settles a call as (NO_EVIDENCE is recorded as ignored). */
  outcomeOf(err: unknown): OutcomeCode {
    if (err instanceof BreakerTimeoutError && err.breaker === this.name) return TIMEOUT;
    return outcomeOfVerdict(this.verdict(err));
  }

  /** @internal Settles a call that threw or rejected: returns the outcome index it was settled as. */
  releaseError(token: Permit, err: unknown, start: number, operation: OperationIndex): OutcomeCode {
    const outcome = this.outcomeOf(err);
    this.releasing = err;
    this.release(token, outcome, start, start < 0 ? -1 : this.clock(), operation);
    this.releasing = undefined;
    if (this.events !== null) this.emitCall(outcome, start, err);
    return outcome;
  }

  /**
   * @internal Records a call the breaker did not admit (an ungated statement, a call while a
   * client rides out a reconnect, a reconnect attempt): it is counted under `operation` and
   * never moves the state. `start` -1: no duration. NO_EVIDENCE is recorded as ignored.
   */
  observe(operation: OperationIndex, outcome: OutcomeCode, start: number): void {
    const recorder = this._recorder;
    if (recorder === null) return;
    recorder.record(operation, outcome === NO_EVIDENCE ? IGNORED : outcome, start < 0 ? 0 : this.clock() - start);
  }

  /** @internal As `observe`, for a call that threw or rejected with `err` (judged by isFailure). */
  observeError(operation: OperationIndex, err: unknown, start: number): void {
    if (this._recorder === null) return;
    this.observe(operation, this.outcomeOf(err), start);
  }

  /** @internal Records a fallback run outside the breaker (a per-operation fallback). */
  observeFallback(ok: boolean): void {
    if (this._recorder !== null) this._recorder.recordFallback(ok);
  }

  /** @internal */
  protected emitCall(outcome: OutcomeCode, start: number, error: unknown): void {
    const events = this.events;
    if (events === null) return;
    const name = OUTCOMES[outcome === NO_EVIDENCE ? IGNORED : outcome] as 'success' | 'failure' | 'ignored' | 'timeout';
    if (!events.has(name)) return;
    events.emit(name, { breaker: this.name, outcome: name, durationMs: start < 0 ? 0 : this.clock() - start, error });
  }

  /** Sets (or clears, with null) the fallback. Returns the breaker. */
  fallback(fn: ((...args: never[]) => unknown) | null): this {
    if (fn !== null && typeof fn !== 'function') {
      throw new TypeError(`CircuitBreaker "${this.name}": fallback(fn): expected a function or null, got ${typeof fn}`);
    }
    this.ownFallback = fn as AnyFunction | null;
    return this;
  }

  hasFallback(): boolean {
    return this.fallbackFn !== null;
  }

  /** @internal Makes this breaker use `owner`'s fallback, now and after any later `fallback(fn)` on it. */
  shareFallbackOf(owner: BreakerSurface): void {
    this.fallbackOwner = owner;
  }

  /** @internal */
  protected get fallbackFn(): AnyFunction | null {
    return this.fallbackOwner.ownFallback;
  }

  /**
   * The fallback for a failed call. `metrics_only` is the safe way to roll a breaker out:
   * the app must see exactly what the library did, so failures are not replaced there.
   * @internal
   */
  protected get failureFallback(): AnyFunction | null {
    return this.o.mode === 'metrics_only' ? null : this.fallbackFn;
  }

  /**
   * Runs the fallback for `err` and reports how it went. `async`: the caller gets a promise,
   * so a thrown fallback becomes a rejection and a returned thenable is awaited before it
   * counts; otherwise the result (or throw) is passed on as it is.
   * @internal
   */
  protected runFallback(args: unknown[], err: unknown, async: boolean): unknown {
    const fallback = this.fallbackFn as AnyFunction;
    let value: unknown;
    try {
      value = fallback.apply(undefined, [...args, err]);
    } catch (fallbackErr) {
      this.noteFallback(false, fallbackErr);
      if (async) return Promise.reject(fallbackErr);
      throw fallbackErr;
    }
    if (!async) {
      this.noteFallback(true, undefined);
      return value;
    }
    return Promise.resolve(value).then(
      (settled) => {
        this.noteFallback(true, undefined);
        return settled;
      },
      (fallbackErr: unknown) => {
        this.noteFallback(false, fallbackErr);
        throw fallbackErr;
      },
    );
  }

  /** @internal Calls `callback` once with the fallback's result, outside any promise chain so a throw stays a throw. */
  protected deliverFallback(callback: Callback, args: unknown[], err: unknown): void {
    (this.runFallback(args, err, true) as Promise<unknown>).then(
      (value) => process.nextTick(callback, null, value),
      (fallbackErr) => process.nextTick(callback, fallbackErr),
    );
  }

  private noteFallback(ok: boolean, error: unknown): void {
    if (this._recorder !== null) this._recorder.recordFallback(ok);
    if (this.events !== null && this.events.has('fallback')) this.events.emit('fallback', { breaker: this.name, ok, error });
  }
}

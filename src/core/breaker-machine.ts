import { ConsecutiveFailuresPolicy } from './consecutive-policy';
import { BreakerTimeoutError, RejectionFactory, type BreakerOpenError } from './errors';
import { BreakerEmitter, type BreakerEventName, type BreakerEvents } from './events';
import { resolveOptions, type ResolvedOptions } from './options';
import { RatePolicy } from './rate-policy';
import { FAILURE, IGNORED, NO_EVIDENCE, OUTCOMES, REJECTED, SUCCESS, TIMEOUT, type CallRecorder } from './recorder';
import { CountWindow, TimeWindow, type RollingWindow } from './rolling-window';
import { REJECT, type OperationIndex, type OutcomeCode, type Permit } from './internal';
import { isLegalTransition } from './transitions';
import { judge, outcomeOfVerdict, type IsFailure } from './verdict';
import type { BreakerSnapshot, BreakerState, CircuitBreakerOptions, ErrorVerdict, TransitionReason } from './types';

/** Permit kinds; a permit is `generation * 4 + kind` (REJECT and UNGATED are negative). */
const PASS = 1;
const TRIAL = 2;

/** @internal The permit of a call admitted in `generation` without a trial slot. */
export function passPermit(generation: number): Permit {
  return (generation * 4 + PASS) as Permit;
}

function defaultClock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The state machine of a circuit breaker and its permits: which calls may run, how each one
 * ended, and when that moves the state. No I/O, no timers of its own and no telemetry. Open →
 * half-open is decided on the next call, so an idle breaker costs nothing and keeps no
 * process alive. The guarded-call forms (promise, sync, callback) live in `CircuitBreaker`.
 *
 * Every admitted call carries the breaker's `generation` (bumped on each transition); a call
 * that settles after the state moved on still reaches the recorder but cannot flip the
 * state again, so a late answer from before an outage never closes a breaker by accident.
 */
export class BreakerMachine {
  readonly name: string;
  /** @internal */
  protected _recorder: CallRecorder | null = null;
  /**
   * Whether calls must be timed. A closed breaker with nothing that needs a duration (no
   * recorder, slow-call or time-window policy, listener or call timeout) skips the clock,
   * which is most of what a guarded call would otherwise cost.
   * @internal
   */
  protected timed = false;
  /** @internal */
  protected readonly o: ResolvedOptions;
  /** @internal */
  protected readonly clock: () => number;
  /** @internal */
  protected _state: BreakerState = 'closed';
  /** @internal */
  protected generation = 0;
  private openedAt = 0;
  private currentResetMs: number;
  private trialsInFlight = 0;
  private trialSuccesses = 0;
  private trialsStartedAt = 0;
  private outageStartedAt: number | null = null;
  private lastFrom: BreakerState | null = null;
  private lastReason: TransitionReason | null = null;
  private lastAt = 0;
  /** @internal */
  protected readonly consecutive: ConsecutiveFailuresPolicy | null;
  private readonly rate: RatePolicy | null;
  /**
   * What the failure-rate gauge reads: the rate policy's window, else a window of its own,
   * so a consecutive-failure breaker reports a rate too (fixed size, O(1) per call).
   */
  private readonly measured: RollingWindow;
  /**
   * Successes of the untimed closed path, not yet in `measured`: they are folded in at the
   * next clock read (a failure, a trial, a gauge read) so that path never reads the clock.
   * @internal
   */
  protected unfoldedSuccesses = 0;
  /** The error being released, for the transition it may cause (error paths only). */
  private releasing: unknown = undefined;
  /** @internal */
  protected isFailureFn: IsFailure | null;
  /** @internal */
  protected events: BreakerEmitter | null = null;
  private rejections: RejectionFactory | null = null;

  constructor(options: CircuitBreakerOptions) {
    this.o = resolveOptions(options);
    this.name = this.o.name;
    this.clock = options.now ?? defaultClock;
    this.currentResetMs = this.o.resetTimeoutMs;
    this.consecutive = this.o.failureThreshold > 0 ? new ConsecutiveFailuresPolicy(this.o.failureThreshold) : null;
    const rateOn = this.o.failureRate > 0 || this.o.slowCallRate > 0;
    const window = this.o.windowSize > 0 ? new CountWindow(this.o.windowSize) : new TimeWindow(this.o.windowMs);
    this.rate = rateOn ? new RatePolicy(window, this.o.failureRate, this.o.slowCallRate, this.o.minimumCalls) : null;
    this.measured = window;
    this.isFailureFn = options.isFailure ?? null;
    if (options.initialState) this.restore(options.initialState);
    this.updateTimed();
  }

  /** @internal Where each call is reported (plain counters, see registry). */
  get recorder(): CallRecorder | null {
    return this._recorder;
  }

  /** @internal */
  set recorder(recorder: CallRecorder | null) {
    this._recorder = recorder;
    this.updateTimed();
  }

  private updateTimed(): void {
    this.timed = this._recorder !== null || this.o.slowCallMs > 0 || this.rate !== null || this.events !== null || this.o.callTimeoutMs > 0;
  }

  // ---------------------------------------------------------------- public API

  get state(): BreakerState {
    return this._state;
  }

  get mode(): 'enforce' | 'metrics_only' {
    return this.o.mode;
  }

  /** The options in force, defaults applied. */
  get options(): Readonly<ResolvedOptions> {
    return this.o;
  }

  get consecutiveFailures(): number {
    return this.consecutive === null ? 0 : this.consecutive.count;
  }

  /**
   * Failure rate over the rolling window (`windowSize` calls, else `windowMs`, default 60 s),
   * whatever the policy: counted calls while closed plus half-open trials, so it stays up
   * through an outage and does not move when the breaker opens. Rejections are not counted.
   */
  get failureRate(): number {
    return this.measuredRate(this.clock());
  }

  private foldSuccesses(now: number): void {
    if (this.unfoldedSuccesses === 0) return;
    this.measured.addSuccesses(this.unfoldedSuccesses, now);
    this.unfoldedSuccesses = 0;
  }

  private measuredRate(now: number): number {
    const w = this.measured;
    this.foldSuccesses(now);
    w.advance(now);
    return w.calls === 0 ? 0 : w.failures / w.calls;
  }

  /** The last transition, or null if the breaker never changed state. */
  get lastTransition(): { from: BreakerState; to: BreakerState; reason: TransitionReason; at: number } | null {
    if (this.lastFrom === null || this.lastReason === null) return null;
    return { from: this.lastFrom, to: this._state, reason: this.lastReason, at: this.lastAt };
  }

  /** Clock time until which an open breaker rejects, or null when not open. */
  get retryAt(): number | null {
    return this._state === 'open' ? this.openedAt + this.currentResetMs : null;
  }

  now(): number {
    return this.clock();
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

  // ------------------------------------------------- low-level API for patchers

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
   * @internal Fleet mode: another instance runs the trial, so an open breaker keeps refusing
   * until `at` (clock time) instead of its own reset timeout, and `retryAfterMs` counts to it.
   * Only ever later: shifting the open time costs the call path nothing.
   */
  postponeTrial(at: number): void {
    if (this._state === 'open' && at > this.openedAt + this.currentResetMs) this.openedAt = at - this.currentResetMs;
  }


  /**
   * @internal Asks to run one call. Returns REJECT, or a token to hand back to `release()` exactly once.
   * For APIs whose outcome arrives through events rather than a promise or callback.
   */
  acquire(now: number): Permit {
    let kind: number;
    switch (this._state) {
      case 'closed':
      case 'disabled':
        return passPermit(this.generation);
      case 'forced_open':
        return REJECT;
      case 'open':
        if (now < this.openedAt + this.currentResetMs) {
          return this.o.mode === 'metrics_only' ? passPermit(this.generation) : REJECT;
        }
        this.transition('half_open', 'reset_timeout', now);
        kind = this.admitTrial(now);
        break;
      default:
        kind = this.admitTrial(now);
    }
    if (kind === REJECT) return this.o.mode === 'metrics_only' ? passPermit(this.generation) : REJECT;
    return (this.generation * 4 + kind) as Permit;
  }

  /**
   * @internal Reports how an acquired call ended; `outcome` is an index into OUTCOMES. `start`/`end`
   * are -1 when the call was not timed.
   */
  release(token: Permit, outcome: OutcomeCode, start: number, end: number, operation: OperationIndex): void {
    const duration = start < 0 || end < 0 ? 0 : end - start;
    if (this._recorder !== null) this._recorder.record(operation, outcome === NO_EVIDENCE ? IGNORED : outcome, duration);
    const generation = Math.floor(token / 4);
    if (generation !== this.generation) return;
    if (end < 0) end = this.clock();
    const slow = this.o.slowCallMs > 0 && duration >= this.o.slowCallMs;
    if (token % 4 === TRIAL) {
      this.trialsInFlight--;
      // Nothing learnt (not even from its duration): the slot goes to the next call.
      if (outcome === NO_EVIDENCE) return;
      // A trial is a real call to the dependency: it is what keeps the measured rate true
      // during a long outage. Decisions are unaffected: the window is cleared on closing.
      if (outcome !== IGNORED) {
        this.foldSuccesses(end);
        this.measured.add(outcome !== SUCCESS, slow, end);
      }
      if (outcome === FAILURE || outcome === TIMEOUT || slow) {
        this.reopen('trial_failed', end);
      } else if (++this.trialSuccesses >= this.o.successThreshold) {
        this.transition('closed', 'trial_succeeded', end);
      }
      return;
    }
    if (this._state !== 'closed' || outcome === IGNORED || outcome === NO_EVIDENCE) return;
    const failed = outcome !== SUCCESS;
    let reason: TransitionReason | null = null;
    if (this.consecutive !== null) reason = this.consecutive.record(failed);
    if (this.rate !== null) {
      const byRate = this.rate.record(failed, slow, end);
      if (reason === null) reason = byRate;
    } else {
      this.foldSuccesses(end);
      this.measured.add(failed, slow, end);
    }
    if (reason !== null) this.transition('open', reason, end);
  }

  /** @internal Builds the error for a refused call and reports the rejection. */
  rejection(now: number, operation: OperationIndex): BreakerOpenError {
    const state = this._state;
    const retryAt = state === 'open'
      ? this.openedAt + this.currentResetMs
      : state === 'half_open' ? this.trialsStartedAt + this.o.trialTimeoutMs : null;
    const err = (this.rejections ??= new RejectionFactory(this.name, this.clock)).make(state, retryAt);
    if (this._recorder !== null) this._recorder.record(operation, REJECTED, 0);
    if (this.events !== null && this.events.has('rejected')) {
      this.events.emit('rejected', { breaker: this.name, outcome: 'rejected', durationMs: 0, error: err });
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

  // ------------------------------------------------------------------ internals

  private admitTrial(now: number): number {
    if (this.trialsInFlight > 0 && now - this.trialsStartedAt >= this.o.trialTimeoutMs) {
      // A trial that never settled must not wedge the breaker half-open forever.
      this.reopen('trial_timeout', now);
      return REJECT;
    }
    if (this.trialsInFlight >= this.o.halfOpenMaxCalls) return REJECT;
    if (this.trialsInFlight === 0) this.trialsStartedAt = now;
    this.trialsInFlight++;
    return TRIAL;
  }

  private reopen(reason: TransitionReason, now: number): void {
    if (this.o.maxResetTimeoutMs > this.o.resetTimeoutMs) {
      this.currentResetMs = Math.min(this.currentResetMs * 2, this.o.maxResetTimeoutMs);
    }
    this.transition('open', reason, now);
  }

  private clearCounts(): void {
    this.consecutive?.reset();
    this.measured.reset();
    this.unfoldedSuccesses = 0;
    this.currentResetMs = this.o.resetTimeoutMs;
    this.trialsInFlight = 0;
    this.trialSuccesses = 0;
  }

  /** The one place a breaker changes state; the pair must be in LEGAL_TRANSITIONS. */
  private transition(to: BreakerState, reason: TransitionReason, now: number): void {
    const from = this._state;
    if (from === to) return;
    if (!isLegalTransition(from, to)) {
      throw new Error(`CircuitBreaker "${this.name}": no transition from ${from} to ${to} (reason ${reason}); see LEGAL_TRANSITIONS`);
    }
    this._state = to;
    this.generation++;
    this.lastFrom = from;
    this.lastReason = reason;
    this.lastAt = now;
    let recoveryMs: number | null = null;
    if (to === 'open') {
      this.openedAt = now;
      this.outageStartedAt ??= now;
    } else if (to === 'half_open') {
      this.trialsInFlight = 0;
      this.trialSuccesses = 0;
    } else if (to === 'closed') {
      if (this.outageStartedAt !== null) recoveryMs = now - this.outageStartedAt;
      this.outageStartedAt = null;
      this.clearCounts();
    }
    if (this.events !== null && this.events.has('stateChange')) {
      this.events.emit('stateChange', {
        breaker: this.name,
        from,
        to,
        reason,
        at: now,
        consecutiveFailures: this.consecutiveFailures,
        failureRate: this.measuredRate(now),
        recoveryMs,
        error: this.releasing,
      });
    }
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

  /** @internal */
  protected emitCall(outcome: OutcomeCode, start: number, error: unknown): void {
    const events = this.events;
    if (events === null) return;
    const name = OUTCOMES[outcome === NO_EVIDENCE ? IGNORED : outcome] as 'success' | 'failure' | 'ignored' | 'timeout';
    if (!events.has(name)) return;
    events.emit(name, { breaker: this.name, outcome: name, durationMs: start < 0 ? 0 : this.clock() - start, error });
  }
}

import { ConsecutiveFailuresPolicy } from './consecutive-policy';
import { FailureBaseline } from './failure-baseline';
import { LatencyBaseline } from './latency-baseline';
import { resolveOptions, type ResolvedOptions } from './options';
import type { BreakerEmitter } from './events';
import { RatePolicy } from './rate-policy';
import { createLimiter } from './concurrency';
import type { Limiter } from './limit/limiter';
import { FAILURE, IGNORED, NO_EVIDENCE, SUCCESS, TIMEOUT, type CallRecorder } from './recorder';
import { CountWindow, TimeWindow, type RollingWindow } from './rolling-window';
import { FORCED_SLOT, NO_SLOT, REJECT, type LimitUse, type OperationIndex, type OutcomeCode, type Permit } from './internal';
import { isLegalTransition } from './transitions';
import type { IsFailure } from './verdict';
import type { BreakerState, CircuitBreakerOptions, TransitionReason } from './types';

/**
 * A permit is `generation * GENERATION + inflight * 8 + slot + kind` (REJECT and UNGATED are
 * negative): `kind` PASS or TRIAL, `slot` SLOTTED when the call holds a concurrency slot, and
 * `inflight` the calls in flight when it took it (what the limit algorithm is told at the end).
 */
const PASS = 1;
const TRIAL = 2;
const SLOTTED = 4;
/** Room for an in-flight count up to 2^20 - 1 (limits stop at 100,000). */
const INFLIGHT_ROOM = 2 ** 20;
const GENERATION = INFLIGHT_ROOM * 8;

/** @internal The permit of a call admitted in `generation` without a trial slot. */
export function passPermit(generation: number): Permit {
  return (generation * GENERATION + PASS) as Permit;
}

/** @internal As passPermit, for a call holding a concurrency slot taken with `inflight` calls in flight (itself included). */
export function slotPermit(generation: number, inflight: number): Permit {
  return (generation * GENERATION + Math.min(inflight, INFLIGHT_ROOM - 1) * 8 + SLOTTED + PASS) as Permit;
}

function defaultClock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The state machine of a circuit breaker and its permits: which calls may run, how each one
 * ended, and when that moves the state. No I/O, no timers of its own and no telemetry. Open →
 * half-open is decided on the next call, so an idle breaker costs nothing and keeps no
 * process alive. What operators, listeners and patchers say to it besides permits is in
 * `BreakerSurface`; the guarded-call forms (promise, sync, callback) are in `CircuitBreaker`.
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
  /** @internal */
  protected openedAt = 0;
  /** @internal */
  protected currentResetMs: number;
  private trialsInFlight = 0;
  private trialSuccesses = 0;
  /** @internal When the current trials began (a refusal in half-open says when to retry). */
  protected trialsStartedAt = 0;
  /** @internal */
  protected outageStartedAt: number | null = null;
  /** @internal */
  protected lastFrom: BreakerState | null = null;
  /** @internal */
  protected lastReason: TransitionReason | null = null;
  /** @internal */
  protected lastAt = 0;
  /** @internal */
  protected readonly consecutive: ConsecutiveFailuresPolicy | null;
  private readonly rate: RatePolicy | null;
  /** `failureRate: 'auto'`: what the rate policy learns its threshold from. */
  private readonly failureBaseline: FailureBaseline | null;
  /** `slowCallMs: 'auto'`: learns from the successes of a closed breaker. */
  private readonly latencyBaseline: LatencyBaseline | null;
  /** A fixed `slowCallMs`, else Infinity (off, or learnt by `latencyBaseline`). */
  private readonly fixedSlowMs: number;
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
  /** @internal The error being released, for the transition it may cause (error paths only). */
  protected releasing: unknown = undefined;
  /** @internal */
  protected isFailureFn: IsFailure | null;
  /** @internal */
  protected events: BreakerEmitter | null = null;
  /** @internal Counts calls in flight against the concurrency limit; null when there is none. */
  protected readonly limiter: Limiter | null;
  /** @internal Set when `acquire` refused for the concurrency limit, read by the rejection that follows. */
  protected refusedByLimit = false;
  /** @internal Whether the concurrency limit learns from round trips, so every call must be timed even when nothing else needs it. */
  protected sampledLimit = false;

  constructor(options: CircuitBreakerOptions) {
    this.o = resolveOptions(options);
    this.name = this.o.name;
    this.clock = options.now ?? defaultClock;
    this.currentResetMs = this.o.resetTimeoutMs;
    this.consecutive = this.o.failureThreshold > 0 ? new ConsecutiveFailuresPolicy(this.o.failureThreshold) : null;
    const failureRate = this.o.failureRate;
    const rateOn = failureRate !== 0 || this.o.slowCallRate > 0;
    const window = this.o.windowSize > 0 ? new CountWindow(this.o.windowSize) : new TimeWindow(this.o.windowMs);
    const failureBaseline = failureRate === 'auto' ? new FailureBaseline() : null;
    if (failureBaseline !== null) {
      window.evicted = (calls, failures, now) => {
        // Only a closed breaker's calls: what ages out while open or half-open may be trials.
        if (this._state === 'closed') failureBaseline.learn(calls, failures, now);
      };
    }
    this.failureBaseline = failureBaseline;
    this.latencyBaseline = this.o.slowCallMs === 'auto' ? new LatencyBaseline() : null;
    this.fixedSlowMs = typeof this.o.slowCallMs === 'number' && this.o.slowCallMs > 0 ? this.o.slowCallMs : Infinity;
    this.rate = rateOn
      ? new RatePolicy(window, failureRate === 'auto' ? 0 : failureRate, this.o.slowCallRate, this.o.minimumCalls, this.failureBaseline)
      : null;
    this.measured = window;
    this.isFailureFn = options.isFailure ?? null;
    this.limiter = this.o.concurrency === null ? null : createLimiter(this.name, this.o.concurrency);
    this.sampledLimit = this.limiter !== null && this.limiter.sampled;
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

  /** @internal */
  protected updateTimed(): void {
    this.timed =
      this._recorder !== null || this.o.slowCallMs !== 0 || this.rate !== null || this.events !== null || this.o.callTimeoutMs > 0;
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
  get measuredFailureRate(): number {
    return this.measuredRate(this.clock());
  }

  /** @deprecated The measured rate; read `measuredFailureRate` (`failureRate` is also the option that sets the threshold). */
  get failureRate(): number {
    return this.measuredRate(this.clock());
  }

  /** The learnt failure rate of `failureRate: 'auto'` (0 before any call), else null. */
  get baselineFailureRate(): number | null {
    return this.failureBaseline === null ? null : this.failureBaseline.rate;
  }

  /** The learnt p99-ish latency (ms) of `slowCallMs: 'auto'` (0 before any success), else null. */
  get baselineLatencyMs(): number | null {
    return this.latencyBaseline === null ? null : this.latencyBaseline.latencyMs;
  }

  /**
   * The failure rate the rolling window must reach now to open the breaker (learnt with
   * 'auto', so it moves), or 0 when no failure rate is set.
   */
  get failureRateThreshold(): number {
    if (this.failureBaseline === null) return this.o.failureRate === 'auto' ? 0 : this.o.failureRate;
    const now = this.clock();
    this.foldSuccesses(now);
    this.measured.advance(now);
    return this.failureBaseline.threshold(this.measured.calls);
  }

  /** The duration (ms) past which a call is slow now (learnt with 'auto'), or 0: none (off, or not learnt yet). */
  get slowCallThresholdMs(): number {
    const ms = this.latencyBaseline === null ? this.fixedSlowMs : this.latencyBaseline.slowMs;
    return ms === Infinity ? 0 : ms;
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

  now(): number {
    return this.clock();
  }

  // ------------------------------------------------- low-level API for patchers

  /**
   * @internal Asks to run one call. Returns REJECT, or a token to hand back to `release()` exactly once.
   * For APIs whose outcome arrives through events rather than a promise or callback. `limit`:
   * how the call meets the concurrency limit (NO_SLOT unless told; async calls pass SLOT).
   */
  acquire(now: number, limit: LimitUse = NO_SLOT): Permit {
    const limiter = limit === NO_SLOT ? null : this.limiter;
    let kind: number;
    switch (this._state) {
      case 'closed':
        kind = PASS;
        break;
      case 'disabled':
        return passPermit(this.generation);
      case 'forced_open':
        return REJECT;
      case 'open':
        if (now < this.openedAt + this.currentResetMs) {
          return this.o.mode === 'metrics_only' ? passPermit(this.generation) : REJECT;
        }
        this.transition('half_open', 'reset_timeout', now);
        if (limiter !== null && limit !== FORCED_SLOT && this.refusesForLimit(limiter)) return REJECT;
        kind = this.admitTrial(now);
        break;
      default:
        // A trial slot is taken only by a call the limit lets through.
        if (limiter !== null && limit !== FORCED_SLOT && this.refusesForLimit(limiter)) return REJECT;
        kind = this.admitTrial(now);
    }
    if (kind === REJECT) return this.o.mode === 'metrics_only' ? passPermit(this.generation) : REJECT;
    if (limiter === null) return (this.generation * GENERATION + kind) as Permit;
    if (kind === PASS && limit !== FORCED_SLOT && this.refusesForLimit(limiter)) return REJECT;
    const inflight = Math.min(limiter.take(), INFLIGHT_ROOM - 1);
    return (this.generation * GENERATION + inflight * 8 + SLOTTED + kind) as Permit;
  }

  /** Whether the limit refuses a call now (metrics_only never refuses: it only counts). */
  private refusesForLimit(limiter: Limiter): boolean {
    if (!limiter.full() || this.o.mode === 'metrics_only') return false;
    this.refusedByLimit = true;
    return true;
  }

  /**
   * @internal Reports how an acquired call ended; `outcome` is an index into OUTCOMES. `start`/`end`
   * are -1 when the call was not timed.
   */
  release(token: Permit, outcome: OutcomeCode, start: number, end: number, operation: OperationIndex): void {
    const duration = start < 0 || end < 0 ? 0 : end - start;
    if (this._recorder !== null) this._recorder.record(operation, outcome === NO_EVIDENCE ? IGNORED : outcome, duration);
    if (token % 8 >= SLOTTED) end = this.freeSlot(token, outcome, start, end);
    const generation = Math.floor(token / GENERATION);
    if (generation !== this.generation) return;
    if (end < 0) end = this.clock();
    const latency = this.latencyBaseline;
    const slow = duration >= (latency === null ? this.fixedSlowMs : latency.slowMs);
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
    // After judging the call by the baseline, so a slow call is measured against what came before.
    if (latency !== null && !failed && start >= 0) latency.learn(duration, end);
    if (reason !== null) this.transition('open', reason, end);
  }

  // ------------------------------------------------------------------ internals

  /** Gives a call's concurrency slot back, telling the limit algorithm how it went; returns the end time. */
  private freeSlot(token: Permit, outcome: OutcomeCode, start: number, end: number): number {
    const limiter = this.limiter as Limiter;
    // No sample from a call that says nothing of the dependency (the app gave up first, nothing
    // was touched), nor from one that was not timed (the lean path times one in SAMPLE_EVERY).
    if (outcome === NO_EVIDENCE || start < 0) {
      limiter.free();
      return end;
    }
    if (end < 0) end = this.clock();
    limiter.complete(end, end - start, Math.floor(token / 8) % INFLIGHT_ROOM, outcome === FAILURE || outcome === TIMEOUT);
    return end;
  }

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

  /** @internal */
  protected clearCounts(): void {
    this.consecutive?.reset();
    this.measured.reset();
    this.unfoldedSuccesses = 0;
    this.currentResetMs = this.o.resetTimeoutMs;
    this.trialsInFlight = 0;
    this.trialSuccesses = 0;
  }

  /** @internal The one place a breaker changes state; the pair must be in LEGAL_TRANSITIONS. */
  protected transition(to: BreakerState, reason: TransitionReason, now: number): void {
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
}

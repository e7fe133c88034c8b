import type { LimitAlgorithm } from './limit-algorithm';
import { AdjustmentRound } from './round';
import { RecentRtt } from './rtt-averages';

/** Gradient2's tuning; docs/adaptive-limits.md explains each. */
export interface Gradient2Tuning {
  /** Where the limit starts. Default: `max`, so nothing is shed before any latency is known. */
  readonly initial?: number;
  /** How far one round of growth within the tolerance moves the limit toward its new estimate, (0, 1]. Default 0.2. */
  readonly smoothing?: number;
  /** Samples the short-term RTT averages over (EWMA with weight 2/(n+1)). Default 20. */
  readonly shortWindow?: number;
  /** Time constant of the long-term RTT, ms: how fast a lasting change of latency becomes the new normal. Default 60 s. */
  readonly longTauMs?: number;
  /** Time constant, ms, with which a long-term RTT left high by an overload falls back once the short-term one is well below it. Default 2 s. */
  readonly recoverTauMs?: number;
  /** How many times the long-term RTT the short-term one may be before the limit is cut. Default 1.5. */
  readonly tolerance?: number;
  /** Calls allowed to queue beyond the estimate. Default 1. */
  readonly queue?: number;
}

/** The long-term RTT is pulled down quickly only once it is this many times the short-term one (noise stays below it). */
const RECOVER_RATIO = 1.5;
/** A short-term RTT at most this many times the long-term one is latency at baseline: nothing queues. */
const BASELINE_RATIO = 1.1;
/** How many times slower the long-term RTT learns a latency that is beyond the tolerance. */
const SLOW_LEARNING = 4;
/** At baseline latency the limit grows by this factor per round, used or not. */
const BASELINE_GROWTH = 2;

/**
 * A latency-gradient limit after Netflix concurrency-limits' Gradient2. Once per round trip,
 * with S the short-term and L the long-term RTT:
 *   S <= 1.1 L (baseline):   limit = 2 * limit, or limit + sqrt(limit) when the app uses half of it
 *   otherwise:               gradient = clamp(tolerance * L / S, 0.5, 1)
 *                            estimate = limit * gradient + queue
 *                            cut to the estimate at once; grow toward it by `smoothing`, when used
 * An unused limit is cut to at most twice the calls in flight (the onset of a slowdown), and
 * not cut again while the short-term RTT still drains the calls admitted before the last cut.
 * Against a dependency that serves `c` calls at once this settles near tolerance * c + queue;
 * with the gradient at its floor (the dependency got much slower), at 2 * queue.
 *
 * Every number field gets a number where it is declared: a field declared without one starts
 * as `undefined`, V8 then stores it tagged, and every fractional value written to it is a new
 * heap object, i.e. an allocation per sample.
 */
export class Gradient2Limit implements LimitAlgorithm {
  limit = 0;
  private estimate = 0;
  private longRtt = 0;
  private lastRoundAt = 0;
  /** The sample that closed the round, for adjust(). */
  private now = 0;
  /** The short-term RTT when the limit was last cut; 0 once latency is back within the tolerance. */
  private shortAtCut = 0;
  private samplesSinceCut = 0;
  private readonly min: number = 1;
  private readonly max: number = 1;
  private readonly smoothing: number = 0.2;
  private readonly longTauMs: number = 60_000;
  private readonly recoverTauMs: number = 2_000;
  private readonly tolerance: number = 1.5;
  private readonly queue: number = 1;
  private readonly short: RecentRtt;
  private readonly round = new AdjustmentRound();

  constructor(min: number, max: number, tuning: Gradient2Tuning = {}) {
    this.min = min;
    this.max = max;
    this.smoothing = tuning.smoothing ?? this.smoothing;
    this.short = new RecentRtt(tuning.shortWindow ?? 20);
    this.longTauMs = tuning.longTauMs ?? this.longTauMs;
    this.recoverTauMs = tuning.recoverTauMs ?? this.recoverTauMs;
    this.tolerance = tuning.tolerance ?? this.tolerance;
    this.queue = tuning.queue ?? this.queue;
    this.estimate = Math.min(max, Math.max(min, tuning.initial ?? max));
    this.limit = Math.floor(this.estimate) | 0;
  }

  onSample(now: number, rttMs: number, inflight: number, dropped: boolean): void {
    if (!this.short.addSample(now, rttMs, dropped)) return;
    this.samplesSinceCut++;
    // Until the short window has filled, the long-term RTT is the same plain mean.
    if (!this.short.warm) this.longRtt = this.short.value;
    // The round needs when the call really started: its own time, not the stand-in.
    if (this.round.add(now, rttMs, inflight, dropped)) {
      // Through a field, not an argument: adjust() is too big to be inlined, and a fractional
      // argument to a call that is not inlined is boxed, an allocation per round.
      this.now = now;
      this.adjust();
    }
  }

  private adjust(): void {
    const now = this.now;
    const round = this.round;
    const dt = now > this.lastRoundAt ? now - this.lastRoundAt : 0;
    this.lastRoundAt = now;
    const short = this.short.value;
    let long = this.longRtt;
    if (this.short.warm) {
      // Time-weighted, so the long-term RTT forgets at the same pace at 10 or 10,000 calls a second.
      // While the short-term RTT is beyond the tolerance (a queue), the long-term one learns it
      // four times slower: an overload of tens of seconds must not become the new normal, yet
      // a lasting slowdown still does, within minutes.
      const tau = short > BASELINE_RATIO * long ? SLOW_LEARNING * this.longTauMs : this.longTauMs;
      long += ((short - long) * dt) / (tau + dt);
      if (long > RECOVER_RATIO * short) long += ((short - long) * dt) / (this.recoverTauMs + dt);
      this.longRtt = long;
    }
    const limit = this.estimate;
    let next = limit;
    if (short <= BASELINE_RATIO * long) {
      // Nothing queues: whatever the app uses, admitting more risks no more than the cold
      // start at max already does, and a limit left low after an overload would shed the
      // next ordinary burst.
      // A used limit grows more gently, by sqrt(limit), so it does not overshoot the dependency
      // by the time the short-term RTT shows the queue.
      next = round.maxInflight * 2 < limit ? limit * BASELINE_GROWTH : limit + Math.sqrt(limit);
    } else {
      // Queueing: beyond the tolerance the gradient cuts; within it the limit may still grow.
      const gradient = Math.max(0.5, Math.min(1, (this.tolerance * long) / short));
      next = limit * gradient + this.queue;
      // A cut takes the whole gradient at once, so a sudden slowdown sheds within a few round
      // trips; growth within the tolerance probes gently, and only when the limit is used.
      if (next > limit) next = round.maxInflight * 2 < limit ? limit : limit + this.smoothing * (next - limit);
      // A limit the app does not use is cut straight to twice what it used: at the onset of a
      // slowdown the queue is then bounded at once instead of growing for the rounds (longer
      // and longer ones) that halving from max would take; a passing burst that queued still
      // has room for one twice its size afterwards.
      else if (round.maxInflight * 2 < limit) next = Math.min(next, round.maxInflight * 2);
      // A short-term RTT lower than at the last cut, before it has been renewed by calls
      // admitted since, is the queue draining (the average still holds the slow calls
      // admitted before the cut): cutting again for them would overshoot.
      if (next < limit && short < this.shortAtCut && this.samplesSinceCut < this.short.window) next = limit;
    }
    // Math.min/max and `| 0` keep every value a machine number: a conditional mixing the
    // integer bounds with a fraction makes V8 box the fraction, an allocation per round.
    this.estimate = Math.min(this.max, Math.max(this.min, next));
    this.limit = Math.floor(this.estimate) | 0;
    if (this.estimate < limit) {
      this.shortAtCut = short;
      this.samplesSinceCut = 0;
    } else if (short <= this.tolerance * long) this.shortAtCut = 0;
    round.restart(now, this.estimate < limit);
  }
}

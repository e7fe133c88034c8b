import type { LimitAlgorithm } from './limit-algorithm';
import { AdjustmentRound } from './round';
import { RecentRtt, RTT_FLOOR_MS } from './rtt-averages';

/** Gradient2's tuning; docs/adaptive-limits.md explains each. */
export interface Gradient2Tuning {
  /** Where the limit starts. Default: `max`, so nothing is shed before any latency is known. */
  readonly initial?: number;
  /** How far one round moves the limit toward its new estimate, (0, 1]. Default 0.2. */
  readonly smoothing?: number;
  /** Samples the short-term RTT averages over (EWMA with weight 2/(n+1)). Default 20. */
  readonly shortWindow?: number;
  /** Time constant of the long-term RTT, ms: how fast a lasting change of latency becomes the new normal. Default 60 s. */
  readonly longTauMs?: number;
  /** Time constant, ms, with which a long-term RTT left high by an overload falls back once the short-term one is well below it. Default 2 s. */
  readonly recoverTauMs?: number;
}

/** The long-term RTT is pulled down quickly only once it is this many times the short-term one (noise stays below it). */
const RECOVER_RATIO = 1.5;

/**
 * A latency-gradient limit after Netflix concurrency-limits' Gradient2. Once per round trip:
 *   gradient = clamp(longRtt / shortRtt, 0.5, 1)
 *   estimate = limit * gradient + sqrt(limit)
 *   limit   += smoothing * (estimate - limit)
 * When the dependency queues, the short-term RTT rises above the long-term one and the
 * limit shrinks (by at most half of it per step before smoothing); at baseline latency the
 * gradient is 1 and the limit grows by sqrt(limit) per step, the queue it allows. Against a
 * dependency that serves `c` calls at once this settles near c + sqrt(c).
 * It grows only while the app uses at least half of it, so a quiet breaker keeps a limit
 * earned under load instead of drifting up to `max` with no evidence.
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
  private readonly min: number = 1;
  private readonly max: number = 1;
  private readonly smoothing: number = 0.2;
  private readonly longTauMs: number = 60_000;
  private readonly recoverTauMs: number = 2_000;
  private readonly short: RecentRtt;
  private readonly round = new AdjustmentRound();

  constructor(min: number, max: number, tuning: Gradient2Tuning = {}) {
    this.min = min;
    this.max = max;
    this.smoothing = tuning.smoothing ?? this.smoothing;
    this.short = new RecentRtt(tuning.shortWindow ?? 20);
    this.longTauMs = tuning.longTauMs ?? this.longTauMs;
    this.recoverTauMs = tuning.recoverTauMs ?? this.recoverTauMs;
    this.estimate = Math.min(max, Math.max(min, tuning.initial ?? max));
    this.limit = Math.floor(this.estimate) | 0;
  }

  onSample(now: number, rttMs: number, inflight: number, dropped: boolean): void {
    if (!(rttMs >= 0 && rttMs < Infinity && Number.isFinite(now))) return;
    const floored = rttMs > RTT_FLOOR_MS ? rttMs : RTT_FLOOR_MS;
    // A failed call's time says nothing about how fast the dependency serves: it may count
    // as slow (a timeout), never as fast (a refused connection).
    const rtt = dropped && floored < this.short.value ? this.short.value : floored;
    this.short.add(rtt);
    // Until the short window has filled, the long-term RTT is the same plain mean.
    if (!this.short.warm) this.longRtt = this.short.value;
    // The round needs when the call really started: its own time, not the stand-in.
    if (this.round.add(now, rttMs, inflight, dropped)) this.adjust(now);
  }

  private adjust(now: number): void {
    const round = this.round;
    const dt = now > this.lastRoundAt ? now - this.lastRoundAt : 0;
    this.lastRoundAt = now;
    const short = this.short.value;
    let long = this.longRtt;
    if (this.short.warm) {
      // Time-weighted, so the long-term RTT forgets at the same pace at 10 or 10,000 calls a second.
      long += ((short - long) * dt) / (this.longTauMs + dt);
      if (long > RECOVER_RATIO * short) long += ((short - long) * dt) / (this.recoverTauMs + dt);
      this.longRtt = long;
    }
    const limit = this.estimate;
    const gradient = short > 0 ? Math.max(0.5, Math.min(1, long / short)) : 1;
    let next = limit * gradient + Math.sqrt(limit);
    if (next > limit && round.maxInflight * 2 < limit) next = limit;
    next = limit + this.smoothing * (next - limit);
    // Math.min/max and `| 0` keep every value a machine number: a conditional mixing the
    // integer bounds with a fraction makes V8 box the fraction, an allocation per round.
    this.estimate = Math.min(this.max, Math.max(this.min, next));
    this.limit = Math.floor(this.estimate) | 0;
    round.restart(now, this.estimate < limit);
  }
}

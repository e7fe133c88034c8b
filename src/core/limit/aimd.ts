import type { LimitAlgorithm } from './limit-algorithm';
import { AdjustmentRound } from './round';
import { NoLoadRtt, RecentRtt } from './rtt-averages';

/** AIMD's tuning; docs/adaptive-limits.md explains each. */
export interface AimdTuning {
  /** Where the limit starts. Default: `max`, so nothing is shed before any latency is known. */
  readonly initial?: number;
  /** What the limit is multiplied by on congestion, [0.5, 1). Default 0.9. */
  readonly backoff?: number;
  /** Congestion: the recent RTT above this many times the no-load RTT. Default 2. */
  readonly slowFactor?: number;
  /** Samples the recent RTT averages over. Default 20. */
  readonly window?: number;
  /** Time constant, ms, with which the no-load RTT drifts up to a lasting slower latency. Default 60 s. */
  readonly noLoadTauMs?: number;
}

/**
 * Additive increase, multiplicative decrease, as TCP's congestion window. Once per round trip:
 *   a dropped call, or recent RTT > slowFactor * no-load RTT  ->  limit * backoff (at least 1 less)
 *   otherwise, if the app used at least half of the limit     ->  limit + 1
 * Every dropped call counts as congestion; latency counts only once calls take twice as long
 * as unloaded. Against a dependency that serves `c` calls at once it saws below about 2c.
 * Simple and predictable; it climbs back slowly (one per round trip).
 */
export class AimdLimit implements LimitAlgorithm {
  limit = 0;
  private readonly min: number = 1;
  private readonly max: number = 1;
  private readonly backoff: number = 0.9;
  private readonly slowFactor: number = 2;
  private readonly recent: RecentRtt;
  private readonly noLoad: NoLoadRtt;
  private readonly round = new AdjustmentRound();

  constructor(min: number, max: number, tuning: AimdTuning = {}) {
    this.min = min;
    this.max = max;
    this.backoff = tuning.backoff ?? this.backoff;
    this.slowFactor = tuning.slowFactor ?? this.slowFactor;
    this.recent = new RecentRtt(tuning.window ?? 20);
    this.noLoad = new NoLoadRtt(tuning.noLoadTauMs ?? 60_000);
    this.limit = Math.min(max, Math.max(min, tuning.initial ?? max)) | 0;
  }

  onSample(now: number, rttMs: number, inflight: number, dropped: boolean): void {
    if (!this.recent.addSample(now, rttMs, dropped)) return;
    // The round needs when the call really started: its own time, not the stand-in.
    if (this.round.add(now, rttMs, inflight, dropped)) this.adjust(now);
  }

  private adjust(now: number): void {
    const round = this.round;
    const recent = this.recent.value;
    const limit = this.limit;
    const slow = recent > this.slowFactor * this.noLoad.value;
    const used = round.maxInflight * 2 >= limit;
    // A round that used the limit says nothing about the unloaded RTT: the baseline would
    // chase the very queue it is there to detect, and the limit creep up with it. A quiet
    // round, or one at the floor, where the slowness is the dependency's own, may raise it.
    this.noLoad.update(now, recent, !used || limit <= this.min);
    let next = limit;
    if (round.dropped || slow) {
      next = Math.min(limit - 1, Math.floor(limit * this.backoff));
    } else if (used) {
      next = limit + 1;
    }
    this.limit = Math.min(this.max, Math.max(this.min, next)) | 0;
    round.restart(now, this.limit < limit);
  }
}

import type { LimitAlgorithm } from './limit-algorithm';
import { AdjustmentRound } from './round';
import { NoLoadRtt, RecentRtt } from './rtt-averages';

/** Vegas's tuning; docs/adaptive-limits.md explains each. */
export interface VegasTuning {
  /** Where the limit starts. Default: `max`, so nothing is shed before any latency is known. */
  readonly initial?: number;
  /** Samples the recent RTT averages over. Default 20. */
  readonly window?: number;
  /** Time constant, ms, with which the no-load RTT drifts up to a lasting slower latency. Default 60 s. */
  readonly noLoadTauMs?: number;
}

/**
 * A queue-estimating limit after TCP Vegas, as Netflix concurrency-limits applies it to
 * requests. With the no-load RTT (the lowest recent one) and the recent RTT,
 *   queue = limit * (1 - noLoadRtt / recentRtt)
 * is how many of the calls in flight are waiting rather than being served. Once per round
 * trip, with lg = max(1, log10(limit)):
 *   a dropped call            -> limit - lg
 *   queue <= lg               -> limit + 6 lg   (nothing waits: grow fast)
 *   queue <  3 lg             -> limit + lg
 *   queue >  6 lg             -> limit - lg
 *   otherwise                 -> unchanged
 * so against a dependency that serves `c` calls at once the limit settles between c + 3 lg
 * and c + 6 lg. Steps are additive: it moves more gently than Gradient2. It grows only while
 * the app uses at least half of the limit; it shrinks whenever the queue says so.
 */
export class VegasLimit implements LimitAlgorithm {
  limit = 0;
  private estimate = 0;
  private readonly min: number = 1;
  private readonly max: number = 1;
  private readonly recent: RecentRtt;
  private readonly noLoad: NoLoadRtt;
  private readonly round = new AdjustmentRound();

  constructor(min: number, max: number, tuning: VegasTuning = {}) {
    this.min = min;
    this.max = max;
    this.recent = new RecentRtt(tuning.window ?? 20);
    this.noLoad = new NoLoadRtt(tuning.noLoadTauMs ?? 60_000);
    this.estimate = Math.min(max, Math.max(min, tuning.initial ?? max));
    this.limit = Math.floor(this.estimate) | 0;
  }

  onSample(now: number, rttMs: number, inflight: number, dropped: boolean): void {
    if (!this.recent.addSample(now, rttMs, dropped)) return;
    // The round needs when the call really started: its own time, not the stand-in.
    if (this.round.add(now, rttMs, inflight, dropped)) this.adjust(now);
  }

  private adjust(now: number): void {
    const round = this.round;
    const recent = this.recent.value;
    this.noLoad.update(now, recent, true);
    const limit = this.estimate;
    const lg = Math.max(1, Math.log10(limit));
    let next = limit;
    if (round.dropped) {
      next = limit - lg;
    } else {
      const queue = limit * (1 - this.noLoad.value / recent);
      if (queue > 6 * lg) next = limit - lg;
      else if (round.maxInflight * 2 < limit) next = limit;
      else if (queue <= lg) next = limit + 6 * lg;
      else if (queue < 3 * lg) next = limit + lg;
    }
    // Math.min/max and `| 0` keep every value a machine number (no boxing, no allocation).
    this.estimate = Math.min(this.max, Math.max(this.min, next));
    this.limit = Math.floor(this.estimate) | 0;
    round.restart(now, this.estimate < limit);
  }
}

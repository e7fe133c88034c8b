import type { FailureBaseline } from './failure-baseline';
import type { FailurePolicy } from './policy';
import type { RollingWindow } from './rolling-window';
import type { TransitionReason } from './types';

/**
 * Opens when the failure rate or the slow-call rate over a rolling window reaches its
 * threshold, once the window holds at least `minimumCalls` calls (so three failures out of
 * three calls at 4 a.m. do not page anybody). With a `baseline` (`failureRate: 'auto'`) the
 * failure-rate threshold is the baseline's (the breaker teaches it what leaves the window).
 */
export class RatePolicy implements FailurePolicy {
  constructor(
    readonly window: RollingWindow,
    /** 0 = off. */
    readonly failureRateThreshold: number,
    /** 0 = off. */
    readonly slowRateThreshold: number,
    readonly minimumCalls: number,
    readonly baseline: FailureBaseline | null = null,
  ) {}

  record(failed: boolean, slow: boolean, now: number): TransitionReason | null {
    const w = this.window;
    w.add(failed, slow, now);
    const baseline = this.baseline;
    if (w.calls < this.minimumCalls) return null;
    if (baseline !== null) {
      if (baseline.departs(w.failures, w.calls)) return 'failure_rate';
    } else if (this.failureRateThreshold > 0 && w.failures >= this.failureRateThreshold * w.calls) return 'failure_rate';
    if (this.slowRateThreshold > 0 && w.slows >= this.slowRateThreshold * w.calls) return 'slow_call_rate';
    return null;
  }

  reset(): void {
    this.window.reset();
  }

  failureRate(now: number): number {
    this.window.advance(now);
    return this.window.calls === 0 ? 0 : this.window.failures / this.window.calls;
  }
}

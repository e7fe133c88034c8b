/**
 * `failureRate: 'auto'`: the counted-failure rate this dependency normally has, learnt slowly
 * from the calls of a closed breaker, and the threshold a rolling window must reach to open.
 * The numbers are documented in docs/configuration.md ("Learned thresholds"); change them
 * there too.
 */
export const AUTO_FAILURE_RATE = {
  /** Open at this multiple of the learned rate... */
  multiplier: 3,
  /**
   * ...and never below the learned rate plus this many standard deviations of a window of
   * `n` calls: in a small window a rate of 3× the baseline is often plain chance.
   */
  deviations: 5.5,
  /** Never open below this rate: a near-perfect dependency does not page on one failure in 20. */
  floor: 0.1,
  /** Never require more than this rate: the bar a fixed `failureRate: 0.5` sets. */
  ceiling: 0.5,
  /**
   * The learned rate is capped here (ceiling / multiplier), so a dependency that fails more
   * and more, or a long outage seen through metrics_only, cannot teach "failing is normal".
   */
  maxBaseline: 0.5 / 3,
  /** Until this many calls have been learnt from, the threshold is `coldThreshold`. */
  warmupCalls: 500,
  coldThreshold: 0.5,
  /** A call's weight halves every hour: the baseline follows changes over hours, not minutes. */
  halfLifeMs: 3_600_000,
} as const;

/**
 * Exponentially decayed counts of calls and failures (time-based, so a burst of calls weighs
 * what it is, not the time it took): O(1) per call, a few numbers of state, no allocation.
 *
 * The breaker teaches it the counted calls of a closed breaker as they age out of the rolling
 * window: the window under judgement is never part of the baseline it is judged against, so a
 * jump in failures cannot raise its own bar however short the history; open and half-open
 * periods teach it nothing, and the calls that opened the breaker are never learnt.
 */
export class FailureBaseline {
  private calls = 0;
  private failures = 0;
  private seen = 0;
  private last = 0;
  private readonly decayPerMs = Math.LN2 / AUTO_FAILURE_RATE.halfLifeMs;

  learn(calls: number, failures: number, now: number): void {
    if (this.seen === 0) {
      this.last = now;
    } else if (now > this.last) {
      const d = Math.exp((this.last - now) * this.decayPerMs);
      this.calls *= d;
      this.failures *= d;
      this.last = now;
    }
    this.calls += calls;
    this.failures += failures;
    if (this.seen < AUTO_FAILURE_RATE.warmupCalls) this.seen += calls;
  }

  /** The learned rate, 0..maxBaseline (0 before any call). */
  get rate(): number {
    return this.calls === 0 ? 0 : Math.min(this.failures / this.calls, AUTO_FAILURE_RATE.maxBaseline);
  }

  /** Whether enough calls were seen for the learned rate to set the threshold. */
  get warm(): boolean {
    return this.seen >= AUTO_FAILURE_RATE.warmupCalls;
  }

  /** The failure rate a window of `n` calls must reach to open the breaker. */
  threshold(n: number): number {
    const a = AUTO_FAILURE_RATE;
    if (!this.warm) return a.coldThreshold;
    const b = this.rate;
    // The window's own noise, and that of the baseline estimate while it rests on few calls.
    const noise = n > 0 ? b + a.deviations * Math.sqrt(b * (1 - b) * (1 / n + 1 / this.calls)) : 0;
    return Math.min(a.ceiling, Math.max(a.floor, b * a.multiplier, noise));
  }

  /** Whether `failures` out of `calls` is a sharp departure from the baseline. */
  departs(failures: number, calls: number): boolean {
    // The epsilon keeps 15 of 100 at a 0.15 threshold from missing by a rounding error.
    return failures > 0 && failures >= this.threshold(calls) * calls - 1e-9;
  }
}

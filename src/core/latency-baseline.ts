/**
 * `slowCallMs: 'auto'`: how long this dependency's successful calls normally take, learnt
 * slowly from the calls of a closed breaker, and the duration past which a call is slow.
 * The numbers are documented in docs/configuration.md ("Learned thresholds"); change them
 * there too.
 */
export const AUTO_SLOW_CALL = {
  /** The baseline is the mean plus this many mean absolute deviations: about a p99. */
  deviations: 4,
  /** A call is slow past this multiple of the baseline... */
  multiplier: 2,
  /** ...and never below this, so a sub-millisecond dependency's jitter is not "slow". */
  floorMs: 25,
  /** Until this many successful calls have been learnt from, no call counts as slow. */
  warmupCalls: 100,
  /** A call's weight halves every hour: a dependency that slows down is not normal within minutes. */
  halfLifeMs: 3_600_000,
} as const;

/**
 * Exponentially decayed mean and mean absolute deviation of call durations (time-based, as
 * FailureBaseline): O(1) per call, no allocation. `slowMs` is a field, so the breaker reads
 * one number per call.
 *
 * A slow call is learnt as if it took `slowMs` (winsorized): a dependency that suddenly takes
 * 10× longer keeps being slow instead of teaching its own new normal within a few calls, and
 * a lasting shift is still followed, the bar rising a step at a time.
 */
export class LatencyBaseline {
  /** Infinity until warm: nothing is slow before there is a baseline to be slow against. */
  slowMs = Infinity;
  private weight = 0;
  private sum = 0;
  private deviationSum = 0;
  private seen = 0;
  private last = 0;
  private readonly decayPerMs = Math.LN2 / AUTO_SLOW_CALL.halfLifeMs;

  learn(measuredMs: number, now: number): void {
    const durationMs = measuredMs < this.slowMs ? measuredMs : this.slowMs;
    if (this.seen === 0) {
      this.last = now;
    } else if (now > this.last) {
      const d = Math.exp((this.last - now) * this.decayPerMs);
      this.weight *= d;
      this.sum *= d;
      this.deviationSum *= d;
      this.last = now;
    }
    const mean = this.weight > 0 ? this.sum / this.weight : durationMs;
    this.weight += 1;
    this.sum += durationMs;
    this.deviationSum += Math.abs(durationMs - mean);
    if (this.seen < AUTO_SLOW_CALL.warmupCalls) this.seen++;
    if (this.seen >= AUTO_SLOW_CALL.warmupCalls) this.slowMs = Math.max(AUTO_SLOW_CALL.floorMs, AUTO_SLOW_CALL.multiplier * this.latencyMs);
  }

  /** The learned p99-ish latency, ms (0 before any call). */
  get latencyMs(): number {
    return this.weight === 0 ? 0 : (this.sum + AUTO_SLOW_CALL.deviations * this.deviationSum) / this.weight;
  }

  get warm(): boolean {
    return this.seen >= AUTO_SLOW_CALL.warmupCalls;
  }
}

/**
 * The round-trip-time measures the limit algorithms share. Plain number fields, each given a
 * number where it is declared (a field declared without one is stored tagged by V8, and every
 * fraction written to it is then a new heap object); no allocation per sample.
 */

/**
 * RTTs below this count as this, ms. Differences of a few microseconds are timer and
 * event-loop noise, not queueing: without a floor a dependency answering in 2 µs that
 * once answers in 8 µs would look four times slower.
 */
const RTT_FLOOR_MS = 0.05;

/** The recent RTT: an exponentially weighted average over about `window` samples (weight 2/(window+1)). */
export class RecentRtt {
  /** 0 until the first sample. */
  value = 0;
  /** Samples seen, counted up to `window`: until then the value is their plain mean. */
  seen = 0;
  readonly window: number = 1;
  private readonly weight: number = 1;

  constructor(window: number) {
    this.window = window;
    this.weight = 2 / (window + 1);
  }

  get warm(): boolean {
    return this.seen >= this.window;
  }

  /**
   * Adds one finished call's round trip, floored, and returns false (adding nothing) for a
   * sample that is not a time. A failed call's time says nothing about how fast the
   * dependency serves: it may count as slow (a timeout), never as fast (a refused connection),
   * so a dropped call faster than the recent average counts as that average.
   */
  addSample(now: number, rttMs: number, dropped: boolean): boolean {
    if (!(rttMs >= 0 && rttMs < Infinity && Number.isFinite(now))) return false;
    const floored = rttMs > RTT_FLOOR_MS ? rttMs : RTT_FLOOR_MS;
    this.add(dropped && floored < this.value ? this.value : floored);
    return true;
  }

  add(rtt: number): void {
    if (this.seen < this.window) {
      this.seen++;
      this.value += (rtt - this.value) / this.seen;
    } else {
      this.value += (rtt - this.value) * this.weight;
    }
  }
}

/**
 * The RTT without a queue: the lowest recent RTT seen, which drifts up toward what is seen
 * now with time constant `tauMs`, so a dependency that got slower for good (a bigger table,
 * a slower disk) becomes the new baseline instead of looking congested forever. It drifts in
 * ratio (an average of logarithms): a 100x slowdown is half adopted after as long as a 2x one
 * (tauMs * ln 2), not a hundred times faster, which is what an average of the values would do.
 */
export class NoLoadRtt {
  /** Infinity until the first update. */
  value = Infinity;
  private lastAt = 0;
  private readonly tauMs: number = 1;

  constructor(tauMs: number) {
    this.tauMs = tauMs;
  }

  /** `rise`: whether a higher `rtt` may move the value up (the caller knows whether it is queueing). */
  update(now: number, rtt: number, rise: boolean): void {
    if (rtt <= this.value) {
      this.value = rtt;
    } else if (rise) {
      const dt = now > this.lastAt ? now - this.lastAt : 0;
      this.value *= Math.pow(rtt / this.value, dt / (this.tauMs + dt));
    }
    this.lastAt = now;
  }
}

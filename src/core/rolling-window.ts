/** Totals over the recent past: calls, failures and slow calls. */
export interface RollingWindow {
  add(failed: boolean, slow: boolean, now: number): void;
  /** Brings the totals up to `now` (drops what fell out of a time window). */
  advance(now: number): void;
  /** Records `count` successful, not slow calls at once. */
  addSuccesses(count: number, now: number): void;
  readonly calls: number;
  readonly failures: number;
  readonly slows: number;
  /** Forgets everything, telling `evicted` nothing: what is cleared was not aged out. */
  reset(): void;
  /**
   * Hears of calls as they age out of the window (a learned baseline is taught only calls
   * that are no longer in the window it is compared with). Null: nobody listens.
   */
  evicted: EvictionSink | null;
}

/** `calls` calls of which `failures` failed left the window at `now`. */
export type EvictionSink = (calls: number, failures: number, now: number) => void;

const FAILED = 1;
const SLOW = 2;

/** The last `size` calls, in a ring of one byte per call. */
export class CountWindow implements RollingWindow {
  calls = 0;
  failures = 0;
  slows = 0;
  evicted: EvictionSink | null = null;
  private readonly ring: Uint8Array;
  private next = 0;

  constructor(readonly size: number) {
    this.ring = new Uint8Array(size);
  }

  add(failed: boolean, slow: boolean, now = 0): void {
    const i = this.next;
    if (this.calls === this.size) {
      const old = this.ring[i];
      if (old & FAILED) this.failures--;
      if (old & SLOW) this.slows--;
      if (this.evicted !== null) this.evicted(1, old & FAILED, now);
    } else {
      this.calls++;
    }
    this.ring[i] = (failed ? FAILED : 0) | (slow ? SLOW : 0);
    if (failed) this.failures++;
    if (slow) this.slows++;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }

  addSuccesses(count: number, now = 0): void {
    // Only the last `size` calls can matter: amortised O(1) per success, bounded by `size`.
    // Successes beyond that pass straight through the window.
    if (count > this.size && this.evicted !== null) this.evicted(count - this.size, 0, now);
    for (let n = Math.min(count, this.size); n > 0; n--) this.add(false, false, now);
  }

  advance(): void {}

  reset(): void {
    this.ring.fill(0);
    this.calls = this.failures = this.slows = this.next = 0;
  }
}

/**
 * The last `windowMs` of calls in `buckets` time slices. Each slice remembers which slice
 * number it holds, so stale slices are cleared lazily as the clock moves: no timers.
 */
export class TimeWindow implements RollingWindow {
  calls = 0;
  failures = 0;
  slows = 0;
  evicted: EvictionSink | null = null;
  private readonly width: number;
  /** Per slice: [sliceNumber, calls, failures, slows], flat to keep it one allocation. */
  private readonly slices: Float64Array;
  private head = -1;

  constructor(
    readonly windowMs: number,
    readonly buckets = 10,
  ) {
    this.width = windowMs / buckets;
    this.slices = new Float64Array(buckets * 4).fill(-1);
  }

  advance(now: number): void {
    const current = Math.floor(now / this.width);
    if (current <= this.head) return;
    // Clear every slice that now lies outside the window (at most `buckets` of them).
    const from = Math.max(this.head + 1, current - this.buckets + 1);
    for (let n = from; n <= current; n++) {
      const base = (n % this.buckets) * 4;
      const s = this.slices;
      if (s[base] !== n) {
        if (s[base] >= 0) {
          this.calls -= s[base + 1];
          this.failures -= s[base + 2];
          this.slows -= s[base + 3];
          if (this.evicted !== null && s[base + 1] > 0) this.evicted(s[base + 1], s[base + 2], now);
        }
        s[base] = n;
        s[base + 1] = s[base + 2] = s[base + 3] = 0;
      }
    }
    this.head = current;
  }

  add(failed: boolean, slow: boolean, now: number): void {
    this.advance(now);
    // A clock that went backwards lands in the newest slice rather than a cleared one.
    const base = (this.head % this.buckets) * 4;
    this.slices[base + 1]++;
    this.calls++;
    if (failed) {
      this.slices[base + 2]++;
      this.failures++;
    }
    if (slow) {
      this.slices[base + 3]++;
      this.slows++;
    }
  }

  addSuccesses(count: number, now: number): void {
    this.advance(now);
    this.slices[(this.head % this.buckets) * 4 + 1] += count;
    this.calls += count;
  }

  reset(): void {
    this.slices.fill(-1);
    this.calls = this.failures = this.slows = 0;
    this.head = -1;
  }
}

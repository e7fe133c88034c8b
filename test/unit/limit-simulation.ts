import type { LimitAlgorithm } from '../../src/core/limit/limit-algorithm';
import { seededRandom } from '../../scripts/lib/seeded-random';

/**
 * A simulated dependency in simulated time, for the limit algorithms' unit tests: calls
 * arrive at a steady rate (Poisson), the limiter refuses those over `algorithm.limit`, and
 * each admitted call takes serviceMs * max(1, inflight / capacity) (times a little noise),
 * i.e. the dependency serves `capacity` calls at once and queues the rest.
 */
export interface Phase {
  /** Simulated milliseconds this phase lasts. */
  readonly ms: number;
  /** Offered calls per millisecond. */
  readonly arrivalsPerMs: number;
  /** Service time of one call alone, ms. */
  readonly serviceMs: number;
  /** Calls the dependency serves at once before it queues. */
  readonly capacity: number;
  /** Fraction of calls that fail as overload (reported as dropped), 0..1. */
  readonly dropRate?: number;
}

export interface PhaseReport {
  readonly offered: number;
  readonly admitted: number;
  readonly shed: number;
  /** The limit sampled once per simulated millisecond over the phase's last half. */
  readonly limits: number[];
  readonly minLimit: number;
  readonly maxLimit: number;
  readonly finalLimit: number;
  /** Mean and standard deviation of `limits`. */
  readonly meanLimit: number;
  readonly sdLimit: number;
  /** Mean RTT of the calls that finished over the phase's last half. */
  readonly meanRtt: number;
  /** Calls shed in the phase's last half. */
  readonly shedLate: number;
  /** 99th percentile RTT of the calls admitted in the phase, and of those admitted from `settleMs` on. */
  readonly p99Rtt: number;
  readonly p99RttSettled: number;
  /** When the phase's last call was shed, ms from its start; -1 if none was. */
  readonly lastShedMs: number;
}

function p99(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))];
}

interface Call {
  end: number;
  rtt: number;
  inflight: number;
  dropped: boolean;
}

/** A min-heap of calls by end time. */
class Completions {
  private readonly heap: Call[] = [];
  get size(): number {
    return this.heap.length;
  }
  peek(): Call | undefined {
    return this.heap[0];
  }
  push(c: Call): void {
    const h = this.heap;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].end <= h[i].end) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }
  pop(): Call {
    const h = this.heap;
    const top = h[0];
    const last = h.pop() as Call;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].end < h[m].end) m = l;
        if (r < h.length && h[r].end < h[m].end) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

export class Simulation {
  now = 0;
  inflight = 0;
  private readonly calls = new Completions();
  private readonly random: () => number;

  constructor(
    readonly algorithm: LimitAlgorithm,
    seed = 1,
    /** Relative spread of service times (uniform, ±). */
    private readonly noise = 0.2,
  ) {
    this.random = seededRandom(seed);
  }

  /** `settleMs`: p99RttSettled counts the calls admitted from this long into the phase. */
  run(phase: Phase, settleMs = 5_000): PhaseReport {
    const start = this.now;
    const end = this.now + phase.ms;
    const half = this.now + phase.ms / 2;
    let nextArrival = this.now + this.exponential(phase.arrivalsPerMs);
    let nextTick = Math.ceil(this.now);
    let offered = 0;
    let admitted = 0;
    let shed = 0;
    let shedLate = 0;
    let rttSum = 0;
    let rttCount = 0;
    const limits: number[] = [];
    const rtts: number[] = [];
    const settledRtts: number[] = [];
    let lastShedMs = -1;
    for (;;) {
      const next = this.calls.peek();
      const t = Math.min(nextArrival, next ? next.end : Infinity, nextTick);
      if (t > end) break;
      this.now = t;
      if (t === nextTick) {
        if (t >= half) limits.push(this.algorithm.limit);
        nextTick++;
      } else if (next && t === next.end) {
        this.calls.pop();
        this.inflight--;
        if (t >= half) {
          rttSum += next.rtt;
          rttCount++;
        }
        this.algorithm.onSample(t, next.rtt, next.inflight, next.dropped);
      } else {
        offered++;
        nextArrival = t + this.exponential(phase.arrivalsPerMs);
        if (this.inflight >= this.algorithm.limit) {
          shed++;
          lastShedMs = t - start;
          if (t >= half) shedLate++;
          continue;
        }
        admitted++;
        this.inflight++;
        const jitter = 1 + this.noise * (2 * this.random() - 1);
        const rtt = phase.serviceMs * Math.max(1, this.inflight / phase.capacity) * jitter;
        const dropped = phase.dropRate !== undefined && this.random() < phase.dropRate;
        rtts.push(rtt);
        if (t - start >= settleMs) settledRtts.push(rtt);
        this.calls.push({ end: t + rtt, rtt, inflight: this.inflight, dropped });
      }
    }
    this.now = end;
    const mean = limits.reduce((a, b) => a + b, 0) / Math.max(1, limits.length);
    const variance = limits.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, limits.length);
    return {
      offered,
      admitted,
      shed,
      shedLate,
      limits,
      minLimit: Math.min(...limits),
      maxLimit: Math.max(...limits),
      finalLimit: this.algorithm.limit,
      meanLimit: mean,
      sdLimit: Math.sqrt(variance),
      meanRtt: rttCount === 0 ? 0 : rttSum / rttCount,
      p99Rtt: p99(rtts),
      p99RttSettled: p99(settledRtts),
      lastShedMs,
    };
  }

  private exponential(ratePerMs: number): number {
    return -Math.log(1 - this.random()) / ratePerMs;
  }
}

/**
 * Feeds an algorithm hand-made samples, one round trip after another: each call starts when
 * the previous one finished, so every sample closes an adjustment round.
 */
export class SampleFeed {
  now = 0;
  constructor(readonly algorithm: LimitAlgorithm) {}

  /** `count` calls of `rttMs` each, with `inflight` calls in flight; returns the limit after them. */
  feed(count: number, rttMs: number, inflight: number, dropped = false): number {
    for (let i = 0; i < count; i++) {
      this.now += rttMs;
      this.algorithm.onSample(this.now, rttMs, inflight, dropped);
    }
    return this.algorithm.limit;
  }

  /** Like `feed` with the app using the whole current limit. */
  busy(count: number, rttMs: number): number {
    for (let i = 0; i < count; i++) {
      this.now += rttMs;
      this.algorithm.onSample(this.now, rttMs, this.algorithm.limit, false);
    }
    return this.algorithm.limit;
  }
}

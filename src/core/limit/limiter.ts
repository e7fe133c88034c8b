import { FixedLimit } from './fixed-limit';
import type { LimitAlgorithm } from './limit-algorithm';

/**
 * Counts one breaker's guarded calls in flight against its limit. A call is admitted while
 * fewer than `algorithm.limit` are in flight; each admitted call gives its slot back exactly
 * once and, unless its end says nothing about the dependency, reports its round trip to the
 * algorithm. Plain counters: O(1) and no allocation per call.
 */
/**
 * On the lean closed path (a breaker with nothing else that reads the clock: no call stats,
 * listeners or timed policy), one call in this many is timed and reported to the algorithm,
 * whatever its outcome: two clock reads per call would cost more than the rest of the path.
 * Module breakers keep call stats, so every one of their calls is reported. A power of two.
 */
export const SAMPLE_EVERY = 8;

export class Limiter {
  /** Calls holding a slot now. */
  inflight = 0;
  /** Calls admitted on the lean path, to time one in SAMPLE_EVERY of them (see CircuitBreaker.invokeLeanLimited). */
  admitted = 0;
  /**
   * Whether the algorithm learns from samples. A fixed limit does not, so its calls need no
   * round-trip time and a breaker that reads the clock for nothing else can skip it.
   */
  readonly sampled: boolean;

  constructor(readonly algorithm: LimitAlgorithm) {
    this.sampled = !(algorithm instanceof FixedLimit);
  }

  /** The limit in force now. */
  get limit(): number {
    return this.algorithm.limit;
  }

  /** Whether one more call would go over the limit. */
  full(): boolean {
    return this.inflight >= this.algorithm.limit;
  }

  /** Takes a slot whatever the limit (the caller decided the call must run); returns the in-flight count, itself included. */
  take(): number {
    return ++this.inflight;
  }

  /** Gives a slot back without a sample (the call's end says nothing about the dependency). */
  free(): void {
    if (this.inflight > 0) this.inflight--;
  }

  /**
   * Gives a slot back and reports the call. `inflight`: the count when it started, itself
   * included; `dropped`: it ended in a way that signals overload (a timeout, a failure).
   */
  complete(now: number, rttMs: number, inflight: number, dropped: boolean): void {
    if (this.inflight > 0) this.inflight--;
    this.algorithm.onSample(now, rttMs, inflight, dropped);
  }
}

/**
 * How a concurrency limit moves. One instance per breaker; the limiter that counts in-flight
 * calls asks it for `limit` on every admission and reports every finished call to `onSample`.
 * Implementations are pure (no timers, no I/O, no clock of their own), O(1) per sample and
 * allocate nothing per sample, so they can sit on the closed path of every guarded call.
 */
export interface LimitAlgorithm {
  /** The current limit: a whole number between the configured `min` and `max` (fixed: the number itself). */
  readonly limit: number;
  /**
   * A guarded call finished.
   * @param now      the breaker's clock when it finished, ms
   * @param rttMs    how long it took, ms
   * @param inflight calls in flight when it started, itself included
   * @param dropped  it failed in a way that signals overload (a timeout, a failure verdict)
   */
  onSample(now: number, rttMs: number, inflight: number, dropped: boolean): void;
}

/** The `concurrency:` section of a breaker once parsed: a fixed bulkhead or an adaptive limit. */
export type ConcurrencyOptions =
  | { readonly kind: 'fixed'; readonly limit: number }
  | { readonly kind: 'adaptive'; readonly algorithm: AdaptiveAlgorithmName; readonly min: number; readonly max: number };

export type AdaptiveAlgorithmName = 'gradient2' | 'vegas' | 'aimd';

import type { ConcurrencyInput } from './concurrency-options';

/** The five states a breaker can be in. `forced_open` and `disabled` are set by an operator. */
export type BreakerState = 'closed' | 'open' | 'half_open' | 'forced_open' | 'disabled';

/**
 * `enforce` rejects calls while open; `metrics_only` computes the same state and records
 * everything but never rejects (the safe way to roll a breaker out).
 */
export type BreakerMode = 'enforce' | 'metrics_only';

/** How one guarded call ended, as counted in `circuit_breaker_calls_total`. */
export type Outcome = 'success' | 'failure' | 'ignored' | 'rejected' | 'timeout' | 'limited';

/**
 * What an error says about the dependency, for an `isFailure` that knows more than yes or no
 * (`true` is `'failure'`, `false` is `'ignored'`):
 * - `'failure'`: it is down or failing; counts against it.
 * - `'timeout'`: a client-side timeout while waiting on it; a failure, counted as `timeout`.
 * - `'ignored'`: it answered (a constraint violation, a 404): not a failure, and proof it is up,
 *   so a half-open trial ending this way closes the breaker.
 * - `'no_evidence'`: it says nothing about the dependency (the app aborted first, bad
 *   arguments, no I/O): counted as `ignored`, and a half-open trial ending this way frees its
 *   slot without closing the breaker.
 */
export type ErrorVerdict = 'failure' | 'timeout' | 'ignored' | 'no_evidence';

/** Why a transition happened; carried on `stateChange` events, spans and log lines. */
export type TransitionReason =
  | 'failure_threshold'
  | 'failure_rate'
  | 'slow_call_rate'
  | 'reset_timeout'
  /** A client's reconnect attempts failed as many times in a row as it is allowed to ride out. */
  | 'reconnect_failures'
  /** A client reconnected on its own: recovery evidence, acted on before the reset timeout. */
  | 'reconnected'
  /**
   * Fleet mode: `quorum` other instances hold this breaker open on their own evidence (to open),
   * or the fleet's trial succeeded (to half-open; to closed for a breaker the fleet opened).
   */
  | 'fleet'
  | 'trial_failed'
  | 'trial_timeout'
  | 'trial_succeeded'
  | 'forced_open'
  | 'closed_by_operator'
  | 'reset'
  | 'disabled'
  | 'enabled'
  | 'restored';

export interface CircuitBreakerOptions {
  /** Breaker name; a metric label, so it must come from a bounded set. Required. */
  name: string;
  /** Consecutive counted failures that open the breaker. Default 5. 0 turns this policy off. */
  failureThreshold?: number;
  /** Time open before a trial call is let through, ms. Default 60000. */
  resetTimeoutMs?: number;
  /** When set, each failed trial doubles the open time, up to this cap (ms). Default: no backoff. */
  maxResetTimeoutMs?: number;
  /** Concurrent trial calls allowed while half-open; the rest are rejected at once. Default 1. */
  halfOpenMaxCalls?: number;
  /** Trial successes needed to close again. Default 1. */
  successThreshold?: number;
  /** How long a trial may stay unsettled before it counts as failed, ms. Default: callTimeoutMs, else resetTimeoutMs. */
  trialTimeoutMs?: number;
  /**
   * Failure rate (0..1, exclusive of 0) over the rolling window that opens the breaker, or
   * 'auto': a multiple of the rate this dependency normally has, learnt while closed (see
   * docs/configuration.md, "Learned thresholds"). Default 0: off.
   */
  failureRate?: number | 'auto';
  /** Time-based rolling window length, ms. Default 60000 when a rate policy is on and windowSize is not set. */
  windowMs?: number;
  /** Count-based rolling window: the last N calls. Takes precedence over windowMs. Default 0: off (windowMs). */
  windowSize?: number;
  /** Calls the window must hold before a rate can open the breaker. Default 10. */
  minimumCalls?: number;
  /** A call slower than this (ms) is a slow call, or 'auto': a multiple of its learnt p99-ish latency. Default 0: off. */
  slowCallMs?: number | 'auto';
  /** Slow-call rate (0..1) over the window that opens the breaker. Default 1 when slowCallMs is set. */
  slowCallRate?: number;
  /** A call that takes longer fails with BreakerTimeoutError and its AbortSignal is aborted, ms. Default 0: off. */
  callTimeoutMs?: number;
  /**
   * Which errors mean "the dependency is down": true (or an {@link ErrorVerdict}). Others pass
   * through and count as `ignored`. Default: every error.
   */
  isFailure?: (err: unknown) => boolean | ErrorVerdict;
  /** Runs for rejected calls and counted failures/timeouts with the call's arguments followed by the error. */
  fallback?: (...args: unknown[]) => unknown;
  /** Default 'enforce'. */
  mode?: BreakerMode;
  /** Clock in ms, for tests. Default: wall clock with sub-millisecond resolution. */
  now?: () => number;
  /** State to start from, as produced by `toJSON()`. */
  initialState?: BreakerSnapshot;
  /**
   * Caps the guarded async calls in flight: a fixed number (a bulkhead) or `{ limit: 'adaptive' }`
   * (moves with measured round trips). A call over the limit is refused with ConcurrencyLimitError.
   * Default: off (null).
   */
  concurrency?: ConcurrencyInput | null;
}

/** Serialisable state, from `toJSON()`, accepted back as `initialState`. */
export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  /** Clock time the breaker last opened, or null. */
  openedAt: number | null;
  /** Open duration in force (grows with backoff). */
  currentResetTimeoutMs: number;
  consecutiveFailures: number;
  /** Clock time of the first open of the current outage (for recovery duration), or null. */
  outageStartedAt: number | null;
}

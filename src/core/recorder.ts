import type { Outcome } from './types';

declare const outcomeBrand: unique symbol;
/** How a call ended, as an index into OUTCOMES (plus NO_EVIDENCE). Branded: see internal.ts. */
export type OutcomeCode = number & { readonly [outcomeBrand]: true };

/** Outcome order used as an index by recorders (plain arrays, no attribute hashing). */
export const OUTCOMES: readonly Outcome[] = ['success', 'failure', 'ignored', 'rejected', 'timeout', 'limited'];
export const SUCCESS = 0 as OutcomeCode;
export const FAILURE = 1 as OutcomeCode;
export const IGNORED = 2 as OutcomeCode;
export const REJECTED = 3 as OutcomeCode;
export const TIMEOUT = 4 as OutcomeCode;
/** Refused by the breaker's concurrency limit: no I/O, and no evidence about the dependency. */
export const LIMITED = 5 as OutcomeCode;
/**
 * A call whose end says nothing about the dependency (the app gave up first, or nothing
 * touched it). Recorded as `ignored`; unlike an ignored error that the dependency answered
 * with, it neither closes a half-open breaker nor uses up its trial: the slot is freed.
 */
export const NO_EVIDENCE = 6 as OutcomeCode;

/**
 * Where a breaker reports each call. The core knows nothing of metrics: the registry plugs
 * in plain counters that telemetry reads at collection time.
 */
export interface CallRecorder {
  /** `operation` is an index the recorder assigned (0 = the breaker's default operation). */
  record(operation: number, outcome: number, durationMs: number): void;
  recordFallback(ok: boolean): void;
}

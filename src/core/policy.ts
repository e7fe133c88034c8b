import type { TransitionReason } from './types';

/**
 * Internal: what the breaker's own policies (consecutive failures, rates) have in common. Not
 * exported from the package: no option takes a policy, so a user could not plug one in.
 *
 * A failure-detection policy sees every counted call of a closed breaker and says when it
 * should open. Policies keep fixed-size state: O(1) per call, memory independent of traffic.
 */
export interface FailurePolicy {
  /** Records one counted call; returns why the breaker should open, or null. */
  record(failed: boolean, slow: boolean, now: number): TransitionReason | null;
  /** Forgets everything (on close, reset, enable). */
  reset(): void;
  /** Failure rate the policy sees now, 0..1 (for the failure-rate gauge). */
  failureRate(now: number): number;
}

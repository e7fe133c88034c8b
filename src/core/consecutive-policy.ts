import type { FailurePolicy } from './policy';
import type { TransitionReason } from './types';

/** Opens after `threshold` counted failures in a row (the seed's `failure_threshold`). */
export class ConsecutiveFailuresPolicy implements FailurePolicy {
  count = 0;

  constructor(readonly threshold: number) {}

  record(failed: boolean): TransitionReason | null {
    if (!failed) {
      this.count = 0;
      return null;
    }
    this.count++;
    return this.count >= this.threshold ? 'failure_threshold' : null;
  }

  reset(): void {
    this.count = 0;
  }

  failureRate(): number {
    return 0;
  }
}

import type { BreakerState, TransitionReason } from '../core/types';

export interface TransitionCount {
  from: BreakerState;
  to: BreakerState;
  reason: TransitionReason;
  count: number;
}

/** Transitions per (from, to, reason) of one breaker: bounded by the state and reason unions, kept in a small map. */
export class TransitionCounts {
  private readonly counts = new Map<string, TransitionCount>();

  add(from: BreakerState, to: BreakerState, reason: TransitionReason): void {
    const key = `${from}>${to}>${reason}`;
    const found = this.counts.get(key);
    if (found) found.count++;
    else this.counts.set(key, { from, to, reason, count: 1 });
  }

  entries(): Iterable<TransitionCount> {
    return this.counts.values();
  }
}

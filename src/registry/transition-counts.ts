import type { BreakerState } from '../core/types';

/** Transitions per (from, to) of one breaker: at most 20 pairs, kept in a small map. */
export class TransitionCounts {
  private readonly counts = new Map<string, { from: BreakerState; to: BreakerState; count: number }>();

  add(from: BreakerState, to: BreakerState): void {
    const key = `${from}>${to}`;
    const found = this.counts.get(key);
    if (found) found.count++;
    else this.counts.set(key, { from, to, count: 1 });
  }

  entries(): Iterable<{ from: BreakerState; to: BreakerState; count: number }> {
    return this.counts.values();
  }
}

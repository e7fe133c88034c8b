import type { LimitAlgorithm } from './limit-algorithm';

/** A bulkhead: the limit is the configured number and no sample moves it. */
export class FixedLimit implements LimitAlgorithm {
  constructor(readonly limit: number) {}

  onSample(): void {
    // A fixed limit learns nothing from round trips.
  }
}

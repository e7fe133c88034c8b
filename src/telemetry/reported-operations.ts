import type { ManagedBreaker, OperationStats } from '../registry';

/**
 * The operations whose series a breaker exports. A patched breaker labels its calls with
 * the module method, so its default `execute` operation only shows once something used it.
 */
export function reportedOperations(entry: ManagedBreaker): OperationStats[] {
  return entry.stats.operations.filter(
    (op) => !(op.name === 'execute' && entry.module !== 'manual' && op.counts.every((c) => c === 0)),
  );
}

import type { ManagedBreaker, OperationStats } from '../registry';

/**
 * The operations whose series a breaker exports. A patched breaker labels its calls with
 * the module method, and a per-target parent hands its calls to its children, so their
 * default `execute` operation only shows once something used it.
 */
export function reportedOperations(entry: ManagedBreaker): OperationStats[] {
  const quietDefault = entry.module !== 'manual' || (entry.parent === null && entry.config?.perTarget === true);
  return entry.stats.operations.filter((op) => !(quietDefault && op.name === 'execute' && op.counts.every((c) => c === 0)));
}

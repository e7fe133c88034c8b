import { isObjectLike } from '../core/callable';

export { isObjectLike };

/**
 * Helpers shared by the error classifiers (`pg.ts`, `nats.ts`, `ws.ts`, `fs.ts`).
 *
 * Classifiers run on whatever a guarded call threw, which is not always an `Error`: libraries
 * and apps reject with strings, plain objects, frozen objects, proxies, or objects whose
 * getters throw. A classifier that throws would turn "is this a failure?" into a new failure
 * of its own, so every property read here is defensive.
 */

/** How deep `cause` / `AggregateError.errors` chains are followed. Bounds cyclic chains too. */
export const MAX_CHAIN_DEPTH = 4;

/** How many entries of an `AggregateError.errors` array are looked at. */
export const MAX_AGGREGATE_ENTRIES = 8;

/**
 * Reads `value[key]`, returning undefined instead of throwing when `value` is not an object,
 * a getter throws, or `value` is a revoked proxy.
 */
export function readProp(value: unknown, key: string): unknown {
  if (!isObjectLike(value)) return undefined;
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

/** Like `readProp`, but only strings come back. */
export function readString(value: unknown, key: string): string | undefined {
  const v = readProp(value, key);
  return typeof v === 'string' ? v : undefined;
}

/**
 * Runs `classify` on `err`, then, while it answers `undefined`, on the errors it wraps:
 * the entries of an `AggregateError`-style `errors` array (Node reports a connect that failed
 * on every resolved address this way) and `cause`. Depth-first, bounded by `MAX_CHAIN_DEPTH`.
 *
 * `classify` returns a verdict (`T`, including `null` for a definite "no") to stop the walk,
 * or `undefined` for "this error says nothing, look at what it wraps".
 */
export function walkErrorChain<T>(err: unknown, classify: (e: unknown) => T | undefined, depth = 0): T | undefined {
  const verdict = classify(err);
  if (verdict !== undefined || depth >= MAX_CHAIN_DEPTH || !isObjectLike(err)) return verdict;

  const errors = readProp(err, 'errors');
  const n = aggregateLength(errors);
  for (let i = 0; i < n; i++) {
    const v = walkErrorChain(readProp(errors, String(i)), classify, depth + 1);
    if (v !== undefined && v !== null) return v;
  }

  const cause = readProp(err, 'cause');
  if (cause !== undefined && cause !== err) return walkErrorChain(cause, classify, depth + 1);
  return undefined;
}

/** Entries of an `errors` array worth looking at; 0 for non-arrays, including revoked proxies. */
function aggregateLength(errors: unknown): number {
  try {
    return Array.isArray(errors) ? Math.min(errors.length, MAX_AGGREGATE_ENTRIES) : 0;
  } catch {
    return 0;
  }
}

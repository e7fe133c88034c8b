import type { AdaptiveAlgorithmName, ConcurrencyOptions } from './limit/limit-algorithm';

/**
 * The `concurrency` option as code gives it: a fixed bulkhead (`{ limit: 10 }`) or a limit
 * that moves with measured round trips (`{ limit: 'adaptive', algorithm, min, max }`).
 */
export type ConcurrencyInput =
  | { readonly limit: number }
  | { readonly limit: 'adaptive'; readonly algorithm?: AdaptiveAlgorithmName; readonly min?: number; readonly max?: number };

/** The same with every default applied: what a breaker runs on, and valid input again (per-target children). */
export type ResolvedConcurrency =
  | { readonly limit: number }
  | { readonly limit: 'adaptive'; readonly algorithm: AdaptiveAlgorithmName; readonly min: number; readonly max: number };

export const ADAPTIVE_ALGORITHMS: readonly AdaptiveAlgorithmName[] = ['gradient2', 'vegas', 'aimd'];
export const DEFAULT_ALGORITHM: AdaptiveAlgorithmName = 'gradient2';
/** Never below 2 by default: one slow call alone must not stop every other call. */
export const DEFAULT_MIN_LIMIT = 2;
/** Above what a Node process usually has its pool or server take at once. */
export const DEFAULT_MAX_LIMIT = 100;
/** A limit beyond this is no limit; it also bounds the in-flight count a permit carries. */
export const MAX_CONCURRENCY_LIMIT = 100_000;

const KEYS = ['limit', 'algorithm', 'min', 'max'];

type Fail = (key: string, value: unknown, expected: string) => never;

function whole(fail: Fail, key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_CONCURRENCY_LIMIT) {
    fail(key, value, `a whole number from 1 to ${MAX_CONCURRENCY_LIMIT}`);
  }
  return value;
}

/** Checks `concurrency` (null or absent: off); `fail` throws naming the key, the value and what was expected. */
export function resolveConcurrency(value: unknown, fail: Fail): ResolvedConcurrency | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    fail('concurrency', value, `{ limit: <whole number> } or { limit: "adaptive", algorithm?, min?, max? }, or null for off`);
  }
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KEYS.includes(key)) fail(`concurrency.${key}`, input[key], `no such key (known: ${KEYS.join(', ')})`);
  }
  const limit = input.limit;
  if (limit !== 'adaptive') {
    if (typeof limit !== 'number') {
      fail('concurrency.limit', limit, `a whole number from 1 to ${MAX_CONCURRENCY_LIMIT} (a fixed bulkhead) or "adaptive"`);
    }
    for (const key of ['algorithm', 'min', 'max']) {
      if (input[key] !== undefined) fail(`concurrency.${key}`, input[key], `no ${key} with a fixed limit (only with limit "adaptive")`);
    }
    return { limit: whole(fail, 'concurrency.limit', limit, 0) };
  }
  const algorithm = input.algorithm ?? DEFAULT_ALGORITHM;
  if (!ADAPTIVE_ALGORITHMS.includes(algorithm as AdaptiveAlgorithmName)) {
    fail('concurrency.algorithm', algorithm, `one of ${ADAPTIVE_ALGORITHMS.map((a) => `"${a}"`).join(', ')}`);
  }
  const min = whole(fail, 'concurrency.min', input.min, DEFAULT_MIN_LIMIT);
  const max = whole(fail, 'concurrency.max', input.max, Math.max(DEFAULT_MAX_LIMIT, min));
  if (min > max) fail('concurrency.min', min, `a whole number <= concurrency.max (${max})`);
  return { limit: 'adaptive', algorithm: algorithm as AdaptiveAlgorithmName, min, max };
}

/** The parsed form the limit algorithms take. */
export function algorithmOptions(c: ResolvedConcurrency): ConcurrencyOptions {
  return c.limit === 'adaptive' ? { kind: 'adaptive', algorithm: c.algorithm, min: c.min, max: c.max } : { kind: 'fixed', limit: c.limit };
}

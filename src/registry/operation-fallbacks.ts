/**
 * Fallbacks per operation of a module breaker: `registry.get('nats', { fallback: { publish: fn } })`
 * gives publishes a fallback and leaves a refused flush, request or connect to reach the app as
 * the error it is (a fallback that only makes sense for one call shape need not guess the
 * shape from its arguments). Kept beside the breaker rather than in it: the core knows
 * operations only as recorder indices, and only the patcher knows which operation a call is.
 *
 * Supported for nats breakers, whose patcher asks for them (see nats-gate.ts).
 */
import type { CircuitBreaker } from '../core/circuit-breaker';
import { VALID_OPERATIONS } from '../config/schema';
import type { ModuleName } from '../config/types';
import type { AnyFunction } from '../core/callable';

/** Operation name → fallback, called like a breaker's fallback: the call's arguments, then the error. */
export type OperationFallbacks = Readonly<Record<string, (...args: never[]) => unknown>>;

/** Modules whose patcher consults per-operation fallbacks. */
const SUPPORTED: ReadonlySet<ModuleName> = new Set<ModuleName>(['nats']);

const byBreaker = new WeakMap<CircuitBreaker, ReadonlyMap<string, AnyFunction>>();

/** A plain object (not a function, array or null): the per-operation form of `fallback`. */
export function isOperationMap(value: unknown): value is OperationFallbacks {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates `fallbacks` for a breaker of `module` and makes them the breaker's per-operation
 * fallbacks (replacing earlier ones; `{}` removes them). Throws a TypeError naming the key,
 * the value and what was expected.
 */
export function setOperationFallbacks(breaker: CircuitBreaker, module: ModuleName, fallbacks: OperationFallbacks): void {
  const where = `registry.get(${JSON.stringify(breaker.name)}, { fallback })`;
  if (!SUPPORTED.has(module)) {
    throw new TypeError(
      `${where}: a fallback per operation is supported on ${[...SUPPORTED].join(', ')} breakers only ` +
        `(this breaker's module is ${module}); give one function instead`,
    );
  }
  const valid = VALID_OPERATIONS[module];
  const map = new Map<string, AnyFunction>();
  for (const [operation, fn] of Object.entries(fallbacks)) {
    if (!valid.includes(operation)) {
      throw new TypeError(
        `${where}: fallback.${operation}: unknown operation, expected one of the ${module} operations: ${valid.join(', ')}`,
      );
    }
    if (typeof fn !== 'function') {
      throw new TypeError(`${where}: fallback.${operation}: got ${fn === null ? 'null' : typeof fn}, expected a function`);
    }
    map.set(operation, fn as AnyFunction);
  }
  if (map.size === 0) byBreaker.delete(breaker);
  else byBreaker.set(breaker, map);
}

/** The fallback `breaker` has for `operation`, or null. */
export function operationFallback(breaker: CircuitBreaker, operation: string): AnyFunction | null {
  return byBreaker.get(breaker)?.get(operation) ?? null;
}

/**
 * Running a per-operation fallback (`registry.get('nats', { fallback: { publish: fn } })`) for a
 * guarded nats call. It takes exactly the calls a breaker's own fallback would take: refused
 * ones, and counted failures and timeouts unless the breaker only records (`metrics_only`).
 * A breaker-wide fallback, when one is set, has already answered those inside the breaker.
 */
import type { CircuitBreaker } from '../core/circuit-breaker';
import { BreakerOpenError, BreakerTimeoutError, ConcurrencyLimitError } from '../core/errors';
import type { AnyFunction } from '../core/callable';

/** Whether `err`, from a call `breaker` guarded, goes to a fallback. */
function divertable(breaker: CircuitBreaker, err: unknown): boolean {
  if (err instanceof BreakerOpenError || err instanceof ConcurrencyLimitError) return err.breaker === breaker.name;
  if (breaker.mode === 'metrics_only') return false;
  if (err instanceof BreakerTimeoutError) return err.breaker === breaker.name;
  return breaker.counts(err);
}

/** For a synchronous call that threw `err`: the fallback's result, or `err` rethrown. */
export function divertSync(breaker: CircuitBreaker, fallback: AnyFunction, args: unknown[], err: unknown): unknown {
  if (!divertable(breaker, err)) throw err;
  try {
    const value = fallback.apply(undefined, [...args, err]);
    breaker.observeFallback(true);
    return value;
  } catch (fallbackErr) {
    breaker.observeFallback(false);
    throw fallbackErr;
  }
}

/** For a promise call that rejected with `err`: the fallback's (awaited) result, or `err` again. */
export async function divertAsync(breaker: CircuitBreaker, fallback: AnyFunction, args: unknown[], err: unknown): Promise<unknown> {
  if (!divertable(breaker, err)) throw err;
  try {
    const value = await fallback.apply(undefined, [...args, err]);
    breaker.observeFallback(true);
    return value;
  } catch (fallbackErr) {
    breaker.observeFallback(false);
    throw fallbackErr;
  }
}

import { BreakerOptionsError } from './errors';
import { algorithmOptions, type ResolvedConcurrency } from './concurrency-options';
import { createLimitAlgorithm } from './limit/create';
import { FixedLimit } from './limit/fixed-limit';
import type { LimitAlgorithm } from './limit/limit-algorithm';
import { Limiter } from './limit/limiter';

/** The limiter a breaker with `concurrency` set counts its calls in. */
export function createLimiter(name: string, c: ResolvedConcurrency): Limiter {
  return new Limiter(createAlgorithm(name, c));
}

function createAlgorithm(name: string, c: ResolvedConcurrency): LimitAlgorithm {
  const options = algorithmOptions(c);
  if (options.kind === 'fixed') return new FixedLimit(options.limit);
  try {
    return createLimitAlgorithm(options);
  } catch (err) {
    // The options were checked already; this only says which breaker a factory refusal is about.
    throw new BreakerOptionsError(`CircuitBreaker "${name}": option ${(err as Error).message}`);
  }
}

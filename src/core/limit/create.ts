import { MAX_CONCURRENCY_LIMIT } from '../concurrency-options';
import { AimdLimit } from './aimd';
import { Gradient2Limit } from './gradient2';
import type { ConcurrencyOptions, LimitAlgorithm } from './limit-algorithm';
import { VegasLimit } from './vegas';

/**
 * The algorithm a breaker's `concurrency:` section asks for. Options come parsed from the
 * config, which reports bad values to the user; the checks here guard programmatic callers,
 * because a limit of 0 would refuse every call and, with no call finishing, never move again.
 */
export function createLimitAlgorithm(options: ConcurrencyOptions): LimitAlgorithm {
  if (options.kind === 'fixed') {
    throw new Error('createLimitAlgorithm: a fixed concurrency limit (kind "fixed") is not available yet; only kind "adaptive" is');
  }
  const { algorithm, min, max } = options;
  if (!Number.isInteger(min) || min < 1) {
    throw new Error(`concurrency.min: got ${String(min)}, expected a whole number of at least 1`);
  }
  if (!Number.isInteger(max) || max < min || max > MAX_CONCURRENCY_LIMIT) {
    throw new Error(`concurrency.max: got ${String(max)}, expected a whole number from min (${min}) to ${MAX_CONCURRENCY_LIMIT}`);
  }
  switch (algorithm) {
    case 'gradient2':
      return new Gradient2Limit(min, max);
    case 'vegas':
      return new VegasLimit(min, max);
    case 'aimd':
      return new AimdLimit(min, max);
    default:
      throw new Error(`concurrency.algorithm: got ${JSON.stringify(algorithm)}, expected one of "gradient2", "vegas", "aimd"`);
  }
}

import { BreakerOptionsError } from './errors';
import { resolveConcurrency, type ResolvedConcurrency } from './concurrency-options';
import type { BreakerMode, CircuitBreakerOptions } from './types';

/** Options with every default applied; what the breaker actually runs on. */
export interface ResolvedOptions {
  name: string;
  failureThreshold: number;
  resetTimeoutMs: number;
  maxResetTimeoutMs: number;
  halfOpenMaxCalls: number;
  successThreshold: number;
  trialTimeoutMs: number;
  failureRate: number | 'auto';
  windowMs: number;
  windowSize: number;
  minimumCalls: number;
  slowCallMs: number | 'auto';
  slowCallRate: number;
  callTimeoutMs: number;
  mode: BreakerMode;
  /** The concurrency limit, or null: no limit (the default). */
  concurrency: ResolvedConcurrency | null;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function fail(name: string, key: string, value: unknown, expected: string): never {
  throw new BreakerOptionsError(`CircuitBreaker "${name}": option ${key}: got ${describe(value)}, expected ${expected}`);
}

/**
 * A count window keeps one byte per call: past this it stops being a breaker setting and
 * becomes an allocation (5e9 throws a RangeError, 1e9 takes a gigabyte per breaker).
 */
export const MAX_WINDOW_SIZE = 100_000;

function wholeNumber(name: string, key: string, value: unknown, min: number, fallback: number, max?: number, orOff = ''): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    fail(name, key, value, (max === undefined ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`) + orOff);
  }
  return value;
}

function millis(name: string, key: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(name, key, value, 'a duration in milliseconds > 0');
  return value;
}

/**
 * What turns something off is 0, given or resolved, as `failureThreshold: 0` always was: so a
 * breaker's resolved `options` are valid options again (a per-target child is built from its
 * parent's), and leaving an option out means the same as 0.
 */
const OFF = ', or 0 for off';

/** A duration that may be off: 0 (or absent) turns it off. */
function optionalMillis(name: string, key: string, value: unknown): number {
  if (value === undefined || value === 0) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) fail(name, key, value, `a duration in milliseconds > 0${OFF}`);
  return value;
}

function rate(name: string, key: string, value: unknown): number {
  if (value === undefined || value === 0) return 0;
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) fail(name, key, value, `a rate in (0, 1]${OFF}`);
  return value;
}

/** `failureRate` and `slowCallMs` may also be learnt: 'auto'. */
function orAuto<T>(name: string, key: string, value: unknown, read: (name: string, key: string, value: unknown) => T): T | 'auto' {
  if (value === 'auto') return value;
  try {
    return read(name, key, value);
  } catch {
    return fail(name, key, value, `${key === 'failureRate' ? `a rate in (0, 1]` : 'a duration in milliseconds > 0'}, 'auto'${OFF}`);
  }
}

function optionalFunction(name: string, key: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') fail(name, key, value, 'a function');
}

const KNOWN = new Set<string>([
  'name',
  'failureThreshold',
  'resetTimeoutMs',
  'maxResetTimeoutMs',
  'halfOpenMaxCalls',
  'successThreshold',
  'trialTimeoutMs',
  'failureRate',
  'windowMs',
  'windowSize',
  'minimumCalls',
  'slowCallMs',
  'slowCallRate',
  'callTimeoutMs',
  'isFailure',
  'fallback',
  'mode',
  'now',
  'initialState',
  'concurrency',
]);

/** Validates programmatic options with messages naming the option, the value and what was expected. */
export function resolveOptions(options: CircuitBreakerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new BreakerOptionsError(`CircuitBreaker: expected an options object with at least a name, got ${describe(options)}`);
  }
  const name = options.name;
  if (typeof name !== 'string' || name.length === 0) fail(String(name), 'name', name, 'a non-empty string');
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key))
      fail(name, key, (options as unknown as Record<string, unknown>)[key], `no such option (known: ${[...KNOWN].join(', ')})`);
  }
  const resetTimeoutMs = millis(name, 'resetTimeoutMs', options.resetTimeoutMs, 60_000);
  const maxResetTimeoutMs = millis(name, 'maxResetTimeoutMs', options.maxResetTimeoutMs, resetTimeoutMs);
  if (maxResetTimeoutMs < resetTimeoutMs)
    fail(name, 'maxResetTimeoutMs', maxResetTimeoutMs, `a value >= resetTimeoutMs (${resetTimeoutMs})`);
  const callTimeoutMs = optionalMillis(name, 'callTimeoutMs', options.callTimeoutMs);
  const slowCallMs = orAuto(name, 'slowCallMs', options.slowCallMs, optionalMillis);
  let slowCallRate = rate(name, 'slowCallRate', options.slowCallRate);
  if (slowCallRate > 0 && slowCallMs === 0) fail(name, 'slowCallRate', slowCallRate, 'slowCallMs to be set as well');
  if (slowCallMs !== 0 && slowCallRate === 0) slowCallRate = 1;
  const failureRate = orAuto(name, 'failureRate', options.failureRate, rate);
  const mode = options.mode ?? 'enforce';
  if (mode !== 'enforce' && mode !== 'metrics_only') fail(name, 'mode', mode, '"enforce" or "metrics_only"');
  optionalFunction(name, 'isFailure', options.isFailure);
  optionalFunction(name, 'fallback', options.fallback);
  optionalFunction(name, 'now', options.now);
  const concurrency = resolveConcurrency(options.concurrency, (key, value, expected) => fail(name, key, value, expected));
  return {
    name,
    failureThreshold: wholeNumber(name, 'failureThreshold', options.failureThreshold, 0, 5),
    resetTimeoutMs,
    maxResetTimeoutMs,
    halfOpenMaxCalls: wholeNumber(name, 'halfOpenMaxCalls', options.halfOpenMaxCalls, 1, 1),
    successThreshold: wholeNumber(name, 'successThreshold', options.successThreshold, 1, 1),
    trialTimeoutMs: millis(name, 'trialTimeoutMs', options.trialTimeoutMs, callTimeoutMs || resetTimeoutMs),
    failureRate,
    windowMs: millis(name, 'windowMs', options.windowMs, 60_000),
    windowSize: options.windowSize === 0 ? 0 : wholeNumber(name, 'windowSize', options.windowSize, 1, 0, MAX_WINDOW_SIZE, OFF),
    minimumCalls: wholeNumber(name, 'minimumCalls', options.minimumCalls, 1, 10),
    slowCallMs,
    slowCallRate,
    callTimeoutMs,
    mode,
    concurrency,
  };
}

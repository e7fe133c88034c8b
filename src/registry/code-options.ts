import type { CircuitBreaker } from '../core/circuit-breaker';
import { BreakerOptionsError } from '../core/errors';
import type { CircuitBreakerOptions, ErrorVerdict } from '../core/types';
import type { BreakerConfig } from '../config';

/** What `registry.get(name, options)` accepts. */
export type CodeOptions = Omit<CircuitBreakerOptions, 'name'>;

/** The functions code supplies; everything else is a setting. */
const FUNCTIONS = ['isFailure', 'fallback'] as const;
export type FunctionOption = (typeof FUNCTIONS)[number];

/** The clock and the initial state mean something only while a breaker is built. */
const CREATION_ONLY = new Set(['now', 'initialState']);

/** Where the file says each setting; the first two fall back on the section defaults. */
const FILE_KEYS: Readonly<Record<string, string>> = {
  failureThreshold: 'failure_threshold (or default_failure_threshold)',
  resetTimeoutMs: 'timeout (or default_timeout)',
  maxResetTimeoutMs: 'max_timeout',
  halfOpenMaxCalls: 'half_open_max_calls',
  successThreshold: 'success_threshold',
  trialTimeoutMs: 'trial_timeout',
  failureRate: 'failure_rate',
  windowMs: 'window',
  windowSize: 'window_size',
  minimumCalls: 'minimum_calls',
  slowCallMs: 'slow_call_duration',
  slowCallRate: 'slow_call_rate',
  callTimeoutMs: 'call_timeout',
  mode: 'mode',
  concurrency: 'concurrency',
};

function show(value: unknown): string {
  return typeof value === 'string' || (typeof value === 'object' && value !== null) ? JSON.stringify(value) : String(value);
}

/** Settings are numbers and strings, except `concurrency`, a small plain object. */
function same(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && JSON.stringify(a) === JSON.stringify(b));
}

function settings(options: CodeOptions): [string, unknown][] {
  return Object.entries(options).filter(
    ([key, v]) => v !== undefined && !(FUNCTIONS as readonly string[]).includes(key) && !CREATION_ONLY.has(key),
  );
}

/**
 * The file decides a configured breaker's numbers so operators tune without a deploy; a
 * different number in code would be silently dropped, so it is refused, naming both.
 */
export function checkAgainstFile(config: BreakerConfig, source: string | null, options: CodeOptions): void {
  const file = config.options as Readonly<Record<string, unknown>>;
  for (const [key, value] of settings(options)) {
    const fromFile = file[key];
    if (fromFile === undefined || same(fromFile, value)) continue;
    throw new BreakerOptionsError(
      `registry.get("${config.name}"): option ${key} is ${show(value)} in code, but the configuration ` +
        `(${source ?? 'built-in defaults'}) gives ${FILE_KEYS[key] ?? key} ${show(fromFile)}` +
        `${key.endsWith('Ms') && typeof fromFile === 'number' ? ' ms' : ''}; the file decides a configured breaker's settings: remove ${key} from the code or change the file`,
    );
  }
}

/**
 * An existing configured breaker (the preload builds module breakers before the app runs)
 * cannot take new settings; one that differs from what it runs on is refused, naming both.
 */
export function checkAgainstExisting(breaker: CircuitBreaker, config: BreakerConfig, options: CodeOptions): void {
  const running = breaker.options as unknown as Readonly<Record<string, unknown>>;
  for (const [key, value] of settings(options)) {
    if (same(running[key], value)) continue;
    throw new BreakerOptionsError(
      `registry.get("${breaker.name}"): option ${key} is ${show(value)} in code, but the breaker already exists ` +
        `with ${key} ${show(running[key])}; only functions (isFailure, fallback) can be given to an existing breaker: ` +
        `set ${FILE_KEYS[key] ?? key} for "${config.name}" in the configuration file instead`,
    );
  }
}

/**
 * Puts the functions from `options` on `breaker`; `onReplace` hears of each one that takes
 * the place of a different function already in force.
 */
export function applyFunctions(
  breaker: CircuitBreaker,
  options: CodeOptions,
  onReplace: (option: FunctionOption, previous: unknown) => void,
): void {
  for (const key of FUNCTIONS) {
    const fn = options[key];
    if (fn === undefined) continue;
    if (typeof fn !== 'function') {
      throw new BreakerOptionsError(`registry.get("${breaker.name}"): option ${key}: got ${typeof fn}, expected a function`);
    }
    const current = breaker.functions[key];
    if (current === fn) continue;
    if (key === 'isFailure') breaker.setIsFailure(fn as (err: unknown) => boolean | ErrorVerdict);
    else breaker.fallback(fn as (...args: never[]) => unknown);
    if (current !== null) onReplace(key, current);
  }
}

import {
  joinPath,
  listOf,
  oneOf,
  readBoolean,
  readDuration,
  readNonEmptyString,
  readDurationOrAuto,
  readRate,
  readRateOrAuto,
  reportUnknownKey,
  wholeNumber,
  type Reader,
} from './checks';
import { readConcurrency } from './concurrency';
import { resolveGlob } from './paths';
import type { Problems } from './problems';
import {
  APP_OPERATION_RE,
  BREAKER_KEY_ALIASES,
  BREAKER_KEYS,
  BREAKER_NAME_RE,
  DEFAULT_MAX_BUFFERED_AMOUNT,
  DEFAULT_RECONNECT_FAILURES,
  DEFAULT_MAX_TARGETS,
  IMPLIED_MODULES,
  MAX_APP_OPERATION_LENGTH,
  MAX_APP_OPERATIONS,
  MAX_BUFFERED_AMOUNT,
  MAX_FAILURE_THRESHOLD,
  MAX_MINIMUM_CALLS,
  MAX_RECONNECT_FAILURES,
  MAX_TARGETS,
  MAX_TRIAL_CALLS,
  MAX_WINDOW_SIZE,
  MODES,
  MODULE_NAMES,
  MODULE_ONLY_KEYS,
  VALID_OPERATIONS,
} from './schema';
import { didYouMean } from './suggest';
import { toPlain, type MapEntry, type MapNode, type TreeNode } from './tree';
import type { BreakerConfig, BreakerOptionsConfig, ModuleName } from './types';

/** Names people give a module's breaker, mapped to the name that implies the module. */
const MODULE_NAME_ALIASES: Readonly<Record<string, string>> = {
  pg: 'database',
  postgres: 'database',
  postgresql: 'database',
  ws: 'websocket',
  fs: 'file_system',
};

/** Section-wide values a breaker falls back on. */
export interface BreakerDefaults {
  readonly failureThreshold: number;
  readonly resetTimeoutMs: number;
}

type NumericOption = Exclude<keyof BreakerOptionsConfig, 'mode' | 'concurrency'>;

/** Keys that map one-to-one onto a numeric core option. */
const NUMERIC_OPTIONS: Readonly<Record<string, { option: NumericOption; read: Reader<number | 'auto'> }>> = {
  failure_threshold: { option: 'failureThreshold', read: wholeNumber(0, MAX_FAILURE_THRESHOLD) },
  timeout: { option: 'resetTimeoutMs', read: readDuration },
  max_timeout: { option: 'maxResetTimeoutMs', read: readDuration },
  half_open_max_calls: { option: 'halfOpenMaxCalls', read: wholeNumber(1, MAX_TRIAL_CALLS) },
  success_threshold: { option: 'successThreshold', read: wholeNumber(1, MAX_TRIAL_CALLS) },
  trial_timeout: { option: 'trialTimeoutMs', read: readDuration },
  failure_rate: { option: 'failureRate', read: readRateOrAuto },
  window: { option: 'windowMs', read: readDuration },
  window_size: { option: 'windowSize', read: wholeNumber(1, MAX_WINDOW_SIZE) },
  minimum_calls: { option: 'minimumCalls', read: wholeNumber(1, MAX_MINIMUM_CALLS) },
  slow_call_duration: { option: 'slowCallMs', read: readDurationOrAuto },
  slow_call_rate: { option: 'slowCallRate', read: readRate },
  call_timeout: { option: 'callTimeoutMs', read: readDuration },
};

const readModule = oneOf(MODULE_NAMES);
const readMode = oneOf(MODES);

function operationOf(module: ModuleName): Reader<string> {
  const valid = VALID_OPERATIONS[module];
  const expected = `one of the ${module} operations: ${valid.join(', ')}`;
  return (node, path, problems) => {
    const v = node.kind === 'scalar' ? node.value : toPlain(node);
    if (typeof v === 'string' && valid.includes(v)) return v;
    const guess = typeof v === 'string' ? didYouMean(v, valid) : undefined;
    problems.add(node.line, path, v, expected, guess === undefined ? undefined : `did you mean "${guess}"?`);
    return undefined;
  };
}

const readAppOperation: Reader<string> = (node, path, problems) => {
  const v = node.kind === 'scalar' ? node.value : toPlain(node);
  if (typeof v === 'string' && APP_OPERATION_RE.test(v) && v.length <= MAX_APP_OPERATION_LENGTH) return v;
  problems.add(
    node.line,
    path,
    v,
    `a name of at most ${MAX_APP_OPERATION_LENGTH} letters, digits, "_", "." or "-", starting with a letter or "_" (it becomes the "operation" metric label)`,
  );
  return undefined;
};

const readGlob: Reader<string> = (node, path, problems) => {
  const v = readNonEmptyString(node, path, problems);
  if (v === undefined) return undefined;
  if (v.startsWith('!')) {
    problems.add(node.line, path, v, 'a glob of paths to guard', 'negated globs are not supported: list only the paths to guard');
    return undefined;
  }
  return v;
};

const readOperations = (module: ModuleName) => listOf(operationOf(module), `${module} operations`);
const readAppOperations = listOf(readAppOperation, 'operation names');
const readPaths = listOf(readGlob, 'globs');

/**
 * Validates one breaker. Every problem is recorded; the result is only meaningful when
 * none were (the caller throws otherwise), so fallbacks here just keep later checks quiet.
 */
export function validateBreaker(
  entry: MapEntry,
  body: MapNode,
  path: string,
  defaults: BreakerDefaults,
  cwd: string,
  problems: Problems,
): BreakerConfig {
  const name = entry.key;
  if (!BREAKER_NAME_RE.test(name)) {
    problems.add(
      entry.line,
      path,
      name,
      'a breaker name of letters, digits and "_" starting with a letter (it becomes the "breaker" metric label)',
    );
  }

  const keys = new Map<string, MapEntry>();
  for (const e of body.entries) {
    if ((BREAKER_KEYS as readonly string[]).includes(e.key)) keys.set(e.key, e);
    else reportUnknownKey(e, joinPath(path, e.key), BREAKER_KEYS, problems, BREAKER_KEY_ALIASES);
  }
  // Keys whose value was refused: combination checks skip them rather than pile on.
  const refused = new Set<string>();
  const read = <T>(key: string, reader: Reader<T>): T | undefined => {
    const n: TreeNode | undefined = keys.get(key)?.value;
    if (n === undefined) return undefined;
    const v = reader(n, joinPath(path, key), problems);
    if (v === undefined) refused.add(key);
    return v;
  };
  const report = (key: string, expected: string, hint?: string): void => {
    const e = keys.get(key);
    if (e) problems.add(e.line, joinPath(path, key), toPlain(e.value), expected, hint);
  };

  // --- module: implied by the name, else declared, else manual.
  const implied = IMPLIED_MODULES[name];
  const declared = read('module', readModule);
  const conflict = implied !== undefined && declared !== undefined && declared !== implied;
  // `databse:` or `Database:` would be a manual breaker that nothing calls, and its settings
  // would never reach pg: a near miss of a module breaker's name must say `module:`.
  const nearMiss =
    implied === undefined && !keys.has('module')
      ? didYouMean(name, Object.keys(IMPLIED_MODULES), MODULE_NAME_ALIASES, { prefixes: false })
      : undefined;
  // Unsure which module was meant: module-specific checks would only add noise.
  const moduleKnown = !conflict && nearMiss === undefined && (declared !== undefined || !keys.has('module'));
  if (nearMiss !== undefined) {
    const guards = IMPLIED_MODULES[nearMiss];
    problems.add(
      entry.line,
      path,
      name,
      `"${nearMiss}" (the breaker that guards ${guards}), or a module: key saying what ${name} guards`,
      `did you mean "${nearMiss}"? As written it is a manual breaker and its settings never reach ${guards}`,
    );
  }
  if (conflict) {
    report(
      'module',
      `"${implied}" or no module key (the name ${name} implies ${implied})`,
      `to guard ${declared}, give the breaker another name`,
    );
  }
  const module: ModuleName = implied ?? declared ?? 'manual';

  // --- core options.
  const options: { -readonly [K in keyof BreakerOptionsConfig]: BreakerOptionsConfig[K] } = {
    failureThreshold: defaults.failureThreshold,
    resetTimeoutMs: defaults.resetTimeoutMs,
  };
  for (const [key, { option, read: reader }] of Object.entries(NUMERIC_OPTIONS)) {
    const v = read(key, reader);
    // Only failure_rate and slow_call_duration have a reader that can return 'auto'.
    if (v !== undefined) (options as Record<NumericOption, number | 'auto'>)[option] = v;
  }

  const concurrency = read('concurrency', readConcurrency);
  if (concurrency !== undefined) options.concurrency = concurrency;

  const mode = read('mode', readMode);
  if (mode === 'enforce' || mode === 'metrics_only') options.mode = mode;
  // Operator states are breaker states, not modes: the breaker enforces once it leaves them.
  else if (mode === 'disabled' || mode === 'forced_open') options.mode = 'enforce';

  checkCombinations(keys, refused, options, mode, report);

  // --- module-specific keys.
  for (const [key, only] of Object.entries(MODULE_ONLY_KEYS)) {
    if (keys.has(key) && moduleKnown && module !== only) {
      report(key, `${key} only on ${only} breakers (this breaker's module is ${module})`);
    }
  }

  let operations: string[] | null = null;
  if (keys.has('operations') && moduleKnown) {
    if (module === 'manual') {
      report(
        'operations',
        'no operations on a manual breaker',
        'manual breakers guard what the app wraps; name those calls with app_operations',
      );
    } else {
      operations = read('operations', readOperations(module)) ?? null;
    }
  }

  const appOperations = readListKey(keys, 'app_operations', path, problems) ?? [];

  let paths: string[] = [];
  if (module === 'fs') {
    if (!keys.has('paths')) {
      problems.add(
        entry.line,
        joinPath(path, 'paths'),
        undefined,
        'a non-empty list of globs, e.g. ["./data/**"]',
        'fs breakers guard only the paths listed',
      );
    } else {
      paths = (read('paths', readPaths) ?? []).map((g) => resolveGlob(g, cwd));
    }
  }

  const perTarget = read('per_target', readBoolean) ?? module === 'ws';
  const maxTargets = read('max_targets', wholeNumber(1, MAX_TARGETS)) ?? DEFAULT_MAX_TARGETS;
  const syncCalls = (module === 'fs' ? read('sync', readBoolean) : undefined) ?? false;
  const maxBufferedAmount =
    module === 'ws' ? (read('max_buffered_amount', wholeNumber(1, MAX_BUFFERED_AMOUNT)) ?? DEFAULT_MAX_BUFFERED_AMOUNT) : null;
  const reconnectFailures =
    module === 'nats' ? (read('reconnect_failures', wholeNumber(1, MAX_RECONNECT_FAILURES)) ?? DEFAULT_RECONNECT_FAILURES) : null;

  return {
    name,
    module,
    operations,
    appOperations,
    paths,
    perTarget,
    maxTargets,
    syncCalls,
    maxBufferedAmount,
    reconnectFailures,
    options,
    disabled: mode === 'disabled',
    forcedOpen: mode === 'forced_open',
  };
}

/** `app_operations` may be empty (the default) but is bounded: its names are metric labels. */
function readListKey(keys: Map<string, MapEntry>, key: string, path: string, problems: Problems): string[] | undefined {
  const e = keys.get(key);
  if (e === undefined) return undefined;
  const p = joinPath(path, key);
  if (e.value.kind === 'seq' && e.value.items.length === 0) return [];
  const list = readAppOperations(e.value, p, problems);
  if (list !== undefined && list.length > MAX_APP_OPERATIONS) {
    problems.add(
      e.line,
      p,
      toPlain(e.value),
      `at most ${MAX_APP_OPERATIONS} operation names`,
      'they become metric labels, which must come from a small fixed set',
    );
    return undefined;
  }
  return list;
}

/**
 * Settings that are each valid but together would silently do nothing, or could never
 * trigger: refused, so nobody believes they are protected when they are not.
 */
function checkCombinations(
  keys: Map<string, MapEntry>,
  refused: ReadonlySet<string>,
  options: BreakerOptionsConfig,
  mode: string | undefined,
  report: (key: string, expected: string, hint?: string) => void,
): void {
  const has = (k: string) => keys.has(k);

  if (has('slow_call_rate') && !has('slow_call_duration')) {
    report('slow_call_rate', 'slow_call_duration to be set as well', 'without it slow_call_rate does nothing');
  }
  const ratePolicy = has('failure_rate') || has('slow_call_duration');
  // window and window_size also set the window the failure-rate gauge is measured over,
  // so they mean something on every breaker; minimum_calls only gates a rate policy.
  if (has('minimum_calls') && !ratePolicy) {
    report('minimum_calls', 'failure_rate or slow_call_duration to be set as well', 'without a rate policy minimum_calls does nothing');
  }
  if (has('window') && has('window_size')) {
    report('window', 'either window or window_size, not both', 'window_size takes precedence, so window would do nothing');
  }
  if (options.minimumCalls !== undefined && options.windowSize !== undefined && options.minimumCalls > options.windowSize) {
    report(
      'minimum_calls',
      `a whole number <= window_size (${options.windowSize})`,
      'a window of N calls never holds more, so the rate could never open the breaker',
    );
  }
  if (
    has('max_timeout') &&
    !refused.has('timeout') &&
    options.maxResetTimeoutMs !== undefined &&
    options.resetTimeoutMs !== undefined &&
    options.maxResetTimeoutMs < options.resetTimeoutMs
  ) {
    const from = has('timeout') ? 'timeout' : 'default_timeout';
    report('max_timeout', `a duration >= ${from} (${options.resetTimeoutMs} ms)`, 'it caps the backoff that starts from the timeout');
  }
  const operatorHeld = mode === 'disabled' || mode === 'forced_open';
  if (options.failureThreshold === 0 && !ratePolicy && !operatorHeld && has('failure_threshold')) {
    report(
      'failure_threshold',
      'a whole number >= 1, or failure_rate / slow_call_duration set as well',
      'with 0 and no rate policy nothing can open the breaker',
    );
  }
}

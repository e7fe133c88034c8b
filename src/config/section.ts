import { validateBreaker, type BreakerDefaults } from './breaker';
import { asMap, joinPath, oneOf, readBoolean, readDuration, readNonEmptyString, reportUnknownKey, wholeNumber } from './checks';
import { monitoringFromEnv } from './env';
import { validateFleet } from './fleet';
import type { Problems } from './problems';
import {
  BREAKER_KEYS,
  DEFAULT_FAILURE_THRESHOLD,
  DEFAULT_LOG_LEVEL,
  DEFAULT_MONITORING_HOST,
  DEFAULT_MONITORING_PORT,
  DEFAULT_RESET_TIMEOUT_MS,
  FLEET_KEYS,
  LOG_LEVELS,
  MAX_FAILURE_THRESHOLD,
  MONITORING_KEYS,
  SECTION_KEY,
  SECTION_KEYS,
  TRACING_KEYS,
} from './schema';
import { didYouMean } from './suggest';
import { toPlain, type MapEntry, type MapNode, type TreeNode } from './tree';
import type { BreakerConfig, BreakerboxConfig } from './types';

export interface SectionContext {
  readonly source: string | null;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly problems: Problems;
}

/**
 * Validates the `circuit_breakers` section (`node`, found at `path`; '' when it is the
 * whole document). `null` is an empty section: enabled, no breakers.
 */
export function validateSection(node: TreeNode | null, path: string, ctx: SectionContext): BreakerboxConfig {
  const { problems } = ctx;
  const section: MapNode =
    node === null
      ? { kind: 'map', line: null, entries: [] }
      : (asMap(
          node,
          path,
          problems,
          path === ''
            ? 'a mapping: the circuit_breakers section itself, or a document with a circuit_breakers key'
            : 'a mapping of circuit breaker settings',
        ) ?? { kind: 'map', line: null, entries: [] });

  const find = (key: string): MapEntry | undefined => section.entries.find((e) => e.key === key);
  const readKey = <T>(key: string, reader: (n: TreeNode, p: string, pr: Problems) => T | undefined): T | undefined => {
    const e = find(key);
    return e === undefined ? undefined : reader(e.value, joinPath(path, key), problems);
  };

  const enabled = readKey('enabled', readBoolean) ?? true;
  // Breakers are validated against these, so they are read before any breaker.
  const defaults: BreakerDefaults = {
    failureThreshold: readKey('default_failure_threshold', wholeNumber(1, MAX_FAILURE_THRESHOLD)) ?? DEFAULT_FAILURE_THRESHOLD,
    resetTimeoutMs: readKey('default_timeout', readDuration) ?? DEFAULT_RESET_TIMEOUT_MS,
  };
  const monitoringEntry = find('monitoring');
  const monitoring = validateMonitoring(monitoringEntry?.value ?? null, joinPath(path, 'monitoring'), ctx);
  const tracingEntry = find('tracing');
  const tracing = validateTracing(tracingEntry?.value ?? null, joinPath(path, 'tracing'), problems);

  const breakers: BreakerConfig[] = [];
  for (const entry of section.entries) {
    if ((SECTION_KEYS as readonly string[]).includes(entry.key)) continue;
    const breakerPath = joinPath(path, entry.key);
    // With no circuit_breakers key the whole document is the section, so a misspelt root
    // key would otherwise read as a breaker and its breakers as unknown settings.
    if (path === '' && didYouMean(entry.key, [SECTION_KEY], {}, { prefixes: false }) !== undefined) {
      reportUnknownKey(entry, breakerPath, [SECTION_KEY, ...SECTION_KEYS], problems);
      continue;
    }
    const body = breakerBody(entry, breakerPath, problems);
    if (body === undefined) continue;
    const breaker = validateBreaker(entry, body, breakerPath, defaults, ctx.cwd, problems);
    // One breaker guards a module: a second would be listed in health and metrics but never
    // see a call, which is worse than an error.
    const first = breaker.module === 'manual' ? undefined : breakers.find((b) => b.module === breaker.module);
    if (first) {
      problems.add(
        body.line,
        joinPath(breakerPath, 'module'),
        breaker.module,
        `at most one breaker per module ("${first.name}" already guards ${breaker.module})`,
        'use per_target on that breaker for one child breaker per host, server, origin or path root',
      );
    }
    breakers.push(breaker);
  }
  const fleetEntry = find('fleet');
  const fleet = validateFleet(fleetEntry?.value ?? null, joinPath(path, 'fleet'), breakers, ctx);

  return { enabled, source: ctx.source, defaults, breakers, monitoring, tracing, fleet };
}

/**
 * Every non-section key names a breaker, so a mistyped section key or a mis-indented
 * breaker setting shows up as a "breaker" that is not a mapping: explain which it is.
 */
function breakerBody(entry: MapEntry, path: string, problems: Problems): MapNode | undefined {
  const v = entry.value;
  const guess = didYouMean(entry.key, SECTION_KEYS);
  if (v.kind === 'map') {
    if (!looksLikeSection(guess, v)) return v;
    reportUnknownKey(entry, path, SECTION_KEYS, problems);
    return undefined;
  }
  // `database:` with nothing under it: a breaker with every setting at its default.
  if (v.kind === 'scalar' && v.value === null) return { kind: 'map', line: v.line, entries: [] };
  if (guess !== undefined) {
    reportUnknownKey(entry, path, SECTION_KEYS, problems);
  } else if ((BREAKER_KEYS as readonly string[]).includes(entry.key)) {
    problems.add(
      entry.line,
      path,
      toPlain(v),
      `a mapping of settings for a breaker named ${entry.key}`,
      `${entry.key} is a breaker setting: indent it under a breaker name`,
    );
  } else {
    problems.add(
      entry.line,
      path,
      toPlain(v),
      `a mapping of settings for the breaker ${entry.key}`,
      `every key here other than ${SECTION_KEYS.join(', ')} names a breaker`,
    );
  }
  return undefined;
}

/** `monitorng: { port: 9464 }` is a typo, not a breaker; `tracking: { timeout: 5 }` is a breaker. */
function looksLikeSection(guess: string | undefined, body: MapNode): boolean {
  const own = guess === 'monitoring' ? MONITORING_KEYS : guess === 'tracing' ? TRACING_KEYS : guess === 'fleet' ? FLEET_KEYS : undefined;
  if (own === undefined) return false;
  return body.entries.some((e) => (own as readonly string[]).includes(e.key) && !(BREAKER_KEYS as readonly string[]).includes(e.key));
}

function validateMonitoring(node: TreeNode | null, path: string, ctx: SectionContext): BreakerboxConfig['monitoring'] {
  const { problems } = ctx;
  const map = node === null ? undefined : asMap(node, path, problems, 'a mapping with enabled, port, host, log_level');
  const entries = map?.entries ?? [];
  const get = (key: string) => entries.find((e) => e.key === key);
  for (const e of entries) {
    if (!(MONITORING_KEYS as readonly string[]).includes(e.key)) {
      reportUnknownKey(e, joinPath(path, e.key), MONITORING_KEYS, problems);
    }
  }
  const read = <T>(key: string, reader: (n: TreeNode, p: string, pr: Problems) => T | undefined) => {
    const e = get(key);
    return e === undefined ? undefined : reader(e.value, joinPath(path, key), problems);
  };
  // The env applies only where the file is silent, and is only validated then.
  const fromEnv = monitoringFromEnv(ctx.env, problems, { port: get('port') === undefined, host: get('host') === undefined });
  return {
    enabled: read('enabled', readBoolean) ?? true,
    port: read('port', wholeNumber(1, 65535)) ?? fromEnv.port ?? DEFAULT_MONITORING_PORT,
    host: read('host', readNonEmptyString) ?? fromEnv.host ?? DEFAULT_MONITORING_HOST,
    logLevel: read('log_level', oneOf(LOG_LEVELS)) ?? DEFAULT_LOG_LEVEL,
  };
}

function validateTracing(node: TreeNode | null, path: string, problems: Problems): BreakerboxConfig['tracing'] {
  const map = node === null ? undefined : asMap(node, path, problems, 'a mapping with call_spans');
  let callSpans = false;
  for (const e of map?.entries ?? []) {
    const p = joinPath(path, e.key);
    if (e.key === 'call_spans') callSpans = readBoolean(e.value, p, problems) ?? false;
    else reportUnknownKey(e, p, TRACING_KEYS, problems);
  }
  return { callSpans };
}

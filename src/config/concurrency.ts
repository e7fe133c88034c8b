import { joinPath, oneOf, reportUnknownKey, wholeNumber, type Reader } from './checks';
import {
  ADAPTIVE_ALGORITHMS,
  DEFAULT_MAX_LIMIT,
  DEFAULT_MIN_LIMIT,
  MAX_CONCURRENCY_LIMIT,
  type ConcurrencyInput,
} from '../core/concurrency-options';
import { toPlain, type MapEntry, type TreeNode } from './tree';

const KEYS = ['limit', 'algorithm', 'min', 'max'] as const;
const readWhole = wholeNumber(1, MAX_CONCURRENCY_LIMIT);
const readAlgorithm = oneOf(ADAPTIVE_ALGORITHMS);
const LIMIT_EXPECTED = `a whole number from 1 to ${MAX_CONCURRENCY_LIMIT} (a fixed bulkhead) or adaptive`;

/**
 * `concurrency:` of a breaker: `{ limit: <whole number> }` (a fixed bulkhead) or
 * `{ limit: adaptive, algorithm, min, max }`. Defaults are left to the core, which applies
 * the same ones to code options.
 */
export const readConcurrency: Reader<ConcurrencyInput> = (node, path, problems) => {
  if (node.kind !== 'map') {
    problems.add(
      node.line,
      path,
      toPlain(node),
      `a mapping: { limit: <whole number from 1 to ${MAX_CONCURRENCY_LIMIT}> } or { limit: adaptive, algorithm, min, max }`,
    );
    return undefined;
  }
  const keys = new Map<string, MapEntry>();
  for (const e of node.entries) {
    if ((KEYS as readonly string[]).includes(e.key)) keys.set(e.key, e);
    else reportUnknownKey(e, joinPath(path, e.key), KEYS, problems);
  }
  const limitEntry = keys.get('limit');
  if (limitEntry === undefined) {
    problems.add(node.line, joinPath(path, 'limit'), undefined, LIMIT_EXPECTED);
    return undefined;
  }
  const limitValue = toPlain(limitEntry.value);
  if (limitValue === 'adaptive') return readAdaptive(keys, path, problems);
  let ok = true;
  for (const key of ['algorithm', 'min', 'max']) {
    const e = keys.get(key);
    if (e === undefined) continue;
    ok = false;
    problems.add(e.line, joinPath(path, key), toPlain(e.value), `no ${key} with a fixed limit`, `${key} applies only to limit: adaptive`);
  }
  if (typeof limitValue !== 'number') {
    problems.add(limitEntry.line, joinPath(path, 'limit'), limitValue, LIMIT_EXPECTED);
    return undefined;
  }
  const limit = readWhole(limitEntry.value, joinPath(path, 'limit'), problems);
  return ok && limit !== undefined ? { limit } : undefined;
};

function readAdaptive(keys: Map<string, MapEntry>, path: string, problems: Parameters<Reader<unknown>>[2]): ConcurrencyInput | undefined {
  let ok = true;
  const read = <T>(key: string, reader: Reader<T>): T | undefined => {
    const n: TreeNode | undefined = keys.get(key)?.value;
    if (n === undefined) return undefined;
    const v = reader(n, joinPath(path, key), problems);
    if (v === undefined) ok = false;
    return v;
  };
  const algorithm = read('algorithm', readAlgorithm);
  const min = read('min', readWhole);
  const max = read('max', readWhole);
  const effectiveMin = min ?? DEFAULT_MIN_LIMIT;
  const effectiveMax = max ?? Math.max(DEFAULT_MAX_LIMIT, effectiveMin);
  if (ok && effectiveMin > effectiveMax) {
    const e = keys.get('min') as MapEntry;
    problems.add(e.line, joinPath(path, 'min'), min, `a whole number <= max (${effectiveMax})`, 'the limit moves between min and max');
    ok = false;
  }
  if (!ok) return undefined;
  const out: { limit: 'adaptive'; algorithm?: (typeof ADAPTIVE_ALGORITHMS)[number]; min?: number; max?: number } = { limit: 'adaptive' };
  if (algorithm !== undefined) out.algorithm = algorithm;
  if (min !== undefined) out.min = min;
  if (max !== undefined) out.max = max;
  return out;
}

import { parseDuration } from './duration';
import type { Problems } from './problems';
import { didYouMean } from './suggest';
import { toPlain, type MapEntry, type MapNode, type TreeNode } from './tree';

/**
 * Value readers: each returns the checked value, or undefined after recording a problem,
 * so callers carry on and the user sees every problem at once.
 */
export type Reader<T> = (node: TreeNode, path: string, problems: Problems) => T | undefined;

function scalar(node: TreeNode): unknown {
  return node.kind === 'scalar' ? node.value : toPlain(node);
}

export const readBoolean: Reader<boolean> = (node, path, problems) => {
  const v = scalar(node);
  if (typeof v === 'boolean') return v;
  problems.add(node.line, path, v, 'true or false');
  return undefined;
};

export function wholeNumber(min: number, max?: number): Reader<number> {
  const expected = max === undefined ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
  return (node, path, problems) => {
    const v = scalar(node);
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min && (max === undefined || v <= max)) return v;
    problems.add(node.line, path, v, expected);
    return undefined;
  };
}

/** A share of calls: 0 would open on every call, so it is excluded. */
export const readRate: Reader<number> = (node, path, problems) => {
  const v = scalar(node);
  if (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1) return v;
  problems.add(node.line, path, v, 'a number greater than 0 and at most 1 (0.5 = 50%)');
  return undefined;
};

/** `failure_rate` may be learnt from the dependency's own baseline instead. */
export const readRateOrAuto: Reader<number | 'auto'> = (node, path, problems) => {
  const v = scalar(node);
  if (v === 'auto') return v;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1) return v;
  problems.add(node.line, path, v, 'a number greater than 0 and at most 1 (0.5 = 50%), or auto (learnt from the dependency)');
  return undefined;
};

/** `slow_call_duration` may be learnt from the dependency's own latency instead; in ms. */
export const readDurationOrAuto: Reader<number | 'auto'> = (node, path, problems) => {
  const v = scalar(node);
  if (v === 'auto') return v;
  const result = parseDuration(v);
  if (result.ok) return result.ms;
  problems.add(node.line, path, v, `${result.expected}, or auto (learnt from the dependency)`);
  return undefined;
};

/** In ms. */
export const readDuration: Reader<number> = (node, path, problems) => {
  const v = scalar(node);
  const result = parseDuration(v);
  if (result.ok) return result.ms;
  problems.add(node.line, path, v, result.expected);
  return undefined;
};

export const readNonEmptyString: Reader<string> = (node, path, problems) => {
  const v = scalar(node);
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  problems.add(node.line, path, v, 'a non-empty string');
  return undefined;
};

export function oneOf<T extends string>(values: readonly T[]): Reader<T> {
  const expected = `one of: ${values.join(', ')}`;
  return (node, path, problems) => {
    const v = scalar(node);
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    const guess = typeof v === 'string' ? didYouMean(v, values) : undefined;
    problems.add(node.line, path, v, expected, guess === undefined ? undefined : `did you mean "${guess}"?`);
    return undefined;
  };
}

/**
 * A non-empty list whose items each pass `item`. Returns undefined if the list or any item
 * is bad (each bad item is reported with its index); duplicates are dropped, not refused,
 * since they are harmless.
 */
export function listOf(item: Reader<string>, what: string): Reader<string[]> {
  return (node, path, problems) => {
    if (node.kind !== 'seq' || node.items.length === 0) {
      problems.add(node.line, path, toPlain(node), `a non-empty list of ${what}`);
      return undefined;
    }
    const out: string[] = [];
    let ok = true;
    node.items.forEach((child, i) => {
      const v = item(child, `${path}[${i}]`, problems);
      if (v === undefined) ok = false;
      else if (!out.includes(v)) out.push(v);
    });
    return ok ? out : undefined;
  };
}

/** For a section, tells apart "not a mapping" (reported here) from an empty one. */
export function asMap(node: TreeNode, path: string, problems: Problems, expected: string): MapNode | undefined {
  if (node.kind === 'map') return node;
  // An empty value (`monitoring:` with nothing under it) is an empty mapping, not a mistake.
  if (node.kind === 'scalar' && node.value === null) return { kind: 'map', line: node.line, entries: [] };
  problems.add(node.line, path, toPlain(node), expected);
  return undefined;
}

/** Reports an unknown key with the best guess, else the list of known keys. */
export function reportUnknownKey(
  entry: MapEntry,
  path: string,
  known: readonly string[],
  problems: Problems,
  aliases: Readonly<Record<string, string>> = {},
): void {
  const guess = didYouMean(entry.key, known, aliases);
  const expected = `one of: ${known.join(', ')}`;
  const text = guess === undefined ? `unknown key, expected ${expected}` : `unknown key; did you mean "${guess}"?`;
  problems.addText(entry.line, path, toPlain(entry.value), expected, text);
}

export function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

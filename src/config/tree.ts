import type { Alias, Document, LineCounter } from 'yaml';
import type { Problems } from './problems';
import { yaml } from './yaml';

/**
 * The document as plain data plus line numbers, so validation needs neither the YAML
 * AST nor a second lookup to say where a problem is. Built from YAML for files and
 * from plain objects for the built-in defaults (which have no lines).
 */
export type TreeNode = MapNode | SeqNode | ScalarNode;

export interface MapNode {
  readonly kind: 'map';
  readonly line: number | null;
  readonly entries: MapEntry[];
}

export interface MapEntry {
  readonly key: string;
  /** Line of the key, which is where people look for it. */
  readonly line: number | null;
  readonly value: TreeNode;
}

export interface SeqNode {
  readonly kind: 'seq';
  readonly line: number | null;
  readonly items: TreeNode[];
}

export interface ScalarNode {
  readonly kind: 'scalar';
  readonly line: number | null;
  readonly value: unknown;
}

/** The plain value of a node, for `ConfigProblem.value`. */
export function toPlain(node: TreeNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const e of node.entries) out[e.key] = toPlain(e.value);
      return out;
    }
  }
}

export function fromPlain(value: unknown): TreeNode {
  if (Array.isArray(value)) return { kind: 'seq', line: null, items: value.map(fromPlain) };
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, v]) => ({ key, line: null, value: fromPlain(v) }));
    return { kind: 'map', line: null, entries };
  }
  return { kind: 'scalar', line: null, value };
}

/**
 * Aliases are expanded in place; a small document of nested aliases can expand
 * exponentially ("billion laughs"), so expansion stops at this many nodes.
 */
const MAX_NODES = 100_000;
const MERGE_KEY = '<<';

class TooLarge extends Error {}

/** Where to start converting, and what to tell about repeated keys. */
export interface FromYamlOptions {
  /** The node to convert (default: the whole document), its line and its key path. */
  readonly start?: { node: unknown; line: number | null; path: string };
  /** Called for each key repeated in a mapping (the parser does not check: see parse.ts). */
  readonly onDuplicateKey?: (line: number | null, path: string) => void;
}

/**
 * Converts a parsed document, or the part of it at `opts.start`; `null` for an empty one.
 * Problems go to `problems`. Only the converted part costs time: aliases are looked up in
 * an index of the document's anchors built once, on the first alias.
 */
export function fromYaml(
  doc: Document.Parsed,
  lines: Pick<LineCounter, 'linePos'>,
  problems: Problems,
  opts: FromYamlOptions = {},
): TreeNode | null {
  const start = opts.start ?? { node: doc.contents, line: 1, path: '' };
  if (start.node === null || start.node === undefined) return opts.start ? { kind: 'scalar', line: start.line, value: null } : null;
  const { isAlias, isMap, isScalar, isSeq } = yaml();
  let budget = MAX_NODES;
  const lineOf = (node: unknown, fallback: number | null): number | null => {
    const range = (node as { range?: [number, number, number] | null }).range;
    return range ? lines.linePos(range[0]).line : fallback;
  };
  let anchors: AnchorIndex | null = null;
  const resolveAlias = (alias: Alias): unknown => (anchors ??= indexAnchors(doc)).resolve(alias);

  const convert = (node: unknown, fallbackLine: number | null, path: string, resolving: Set<unknown>): TreeNode => {
    if (--budget < 0) throw new TooLarge();
    if (isAlias(node)) {
      const target = resolveAlias(node);
      if (target === undefined || resolving.has(target)) {
        problems.add(lineOf(node, fallbackLine), path, `*${node.source}`, 'an alias to an earlier, non-recursive anchor');
        return { kind: 'scalar', line: lineOf(node, fallbackLine), value: null };
      }
      resolving.add(target);
      try {
        return convert(target, lineOf(node, fallbackLine), path, resolving);
      } finally {
        resolving.delete(target);
      }
    }
    const line = lineOf(node, fallbackLine);
    if (isMap(node)) {
      const own: MapEntry[] = [];
      const merged: MapEntry[] = [];
      const keys = new Set<string>();
      for (const pair of node.items) {
        const keyLine = lineOf(pair.key, line);
        const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key);
        const childPath = path === '' ? key : `${path}.${key}`;
        if (key !== MERGE_KEY) {
          if (keys.has(key)) opts.onDuplicateKey?.(keyLine, childPath);
          keys.add(key);
        }
        const value: TreeNode =
          pair.value === null || pair.value === undefined
            ? { kind: 'scalar', line: keyLine, value: null }
            : convert(pair.value, keyLine, childPath, resolving);
        if (key === MERGE_KEY) merged.push(...mergeSources(value, keyLine, childPath));
        else own.push({ key, line: keyLine, value });
      }
      // YAML merge semantics: explicit keys win over merged ones; earlier sources win over later.
      const seen = new Set(own.map((e) => e.key));
      const entries = [...own];
      for (const e of merged) {
        if (!seen.has(e.key)) {
          seen.add(e.key);
          entries.push(e);
        }
      }
      return { kind: 'map', line, entries };
    }
    if (isSeq(node)) {
      const items = node.items.map((item, i) => convert(item, line, `${path}[${i}]`, resolving));
      return { kind: 'seq', line, items };
    }
    if (isScalar(node)) return { kind: 'scalar', line, value: node.value };
    return { kind: 'scalar', line, value: node ?? null };
  };

  const mergeSources = (value: TreeNode, line: number | null, path: string): MapEntry[] => {
    const sources = value.kind === 'seq' ? value.items : [value];
    const out: MapEntry[] = [];
    for (const source of sources) {
      if (source.kind === 'map') out.push(...source.entries);
      else problems.add(source.line ?? line, path, toPlain(source), 'an alias to a mapping (or a list of them) to merge');
    }
    return out;
  };

  try {
    return convert(start.node, start.line, start.path, new Set());
  } catch (err) {
    if (!(err instanceof TooLarge)) throw err;
    problems.addText(
      null,
      '',
      null,
      `at most ${MAX_NODES} nodes after alias expansion`,
      `the document expands to more than ${MAX_NODES} nodes through aliases`,
    );
    return null;
  }
}

interface AnchorIndex {
  /** The node an alias refers to: the last node before it with that anchor, as YAML says. */
  resolve(alias: Alias): unknown;
}

/** One walk over the document, instead of one per alias (the library's `resolve` walks it each time). */
function indexAnchors(doc: Document.Parsed): AnchorIndex {
  const { isAlias, visit } = yaml();
  const position = new Map<unknown, number>();
  const byName = new Map<string, { at: number; node: unknown }[]>();
  let n = 0;
  visit(doc, {
    Node: (_key, node) => {
      const at = n++;
      if (isAlias(node)) {
        position.set(node, at);
        return;
      }
      const anchor = (node as { anchor?: string }).anchor;
      if (anchor) {
        let list = byName.get(anchor);
        if (!list) byName.set(anchor, (list = []));
        list.push({ at, node });
      }
    },
  });
  return {
    resolve(alias) {
      const at = position.get(alias);
      const list = byName.get(alias.source);
      if (at === undefined || list === undefined) return undefined;
      let found: unknown;
      for (const a of list) {
        if (a.at >= at) break;
        found = a.node;
      }
      return found;
    },
  };
}

import type { MapEntry, MapNode, SeqNode, TreeNode } from './tree';

/*
 * The common configuration file, read without the YAML library: block mappings, lists of
 * scalars (`- x` lines or `[a, b]`), plain and simply quoted scalars, comments. Loading and
 * first use of the full parser cost the preload about 30 ms; a breakerbox.yaml rarely uses
 * more than this. Anything else (anchors, tags, block scalars, flow mappings, escapes,
 * multi-line scalars, duplicate keys, tabs, octal/hex/exponent numbers, a syntax error)
 * makes `readPlainYaml` answer `undefined` and the caller hands the text to the library,
 * so errors and rarer YAML read exactly as before. Scalars resolve as the library's core
 * schema does (the regular expressions are the schema's own).
 */

/** Not this subset: the caller falls back to the YAML library. */
class Unsupported extends Error {}

const NULL = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
/** Decimal integers that parse exactly as the library parses them (short enough for a double). */
const INT = /^[-+]?[0-9]{1,15}$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
/** Core-schema forms this reader leaves to the library: octal, hex, exponent, inf/nan, long integers. */
const OTHER_NUMBER =
  /^(?:0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?[0-9]+)$/;
/** A plain scalar with no character that YAML could read as structure (`:` only inside, in block context). */
const PLAIN = /^[A-Za-z0-9_./~+-][A-Za-z0-9_./~+*@=-]*$/;
const PLAIN_BLOCK = /^[A-Za-z0-9_./~+-][A-Za-z0-9_./~+*@=:-]*(?<!:)$/;
const KEY_LINE = /^( *)([A-Za-z_][A-Za-z0-9_.-]*):(?:[ ]+(.*))?$/;
const ITEM_LINE = /^( *)- +(.*)$/;

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

/**
 * The document as a tree, `null` for an empty one, or `undefined` when the text uses YAML
 * beyond this subset.
 */
export function readPlainYaml(text: string): TreeNode | null | undefined {
  const lines: Line[] = [];
  const raw = text.split(/\r?\n/);
  for (let i = 0; i < raw.length; i++) {
    const t = raw[i].replace(/ +$/, '');
    if (/^ *(#|$)/.test(t)) continue;
    if (t.includes('\t')) return undefined;
    const indent = t.length - t.trimStart().length;
    lines.push({ no: i + 1, indent, text: t.slice(indent) });
  }
  if (lines.length === 0) return null;
  try {
    const at = { i: 0 };
    const root = readMap(lines, at, lines[0].indent);
    return at.i === lines.length ? root : undefined;
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
}

function unsupported(): never {
  throw new Unsupported();
}

function readMap(lines: Line[], at: { i: number }, indent: number): MapNode {
  const entries: MapEntry[] = [];
  const keys = new Set<string>();
  while (at.i < lines.length && lines[at.i].indent === indent) {
    const line = lines[at.i];
    const m = KEY_LINE.exec(line.text);
    if (!m) unsupported();
    const key = m[2];
    // Keys the core schema reads as null or booleans, and repeats, are the library's business.
    if (keys.has(key) || NULL.test(key) || BOOL.test(key)) unsupported();
    keys.add(key);
    at.i++;
    const rest = stripComment(m[3] ?? '');
    let value: TreeNode;
    if (rest !== '') value = inlineValue(rest, line.no);
    else {
      const next = lines[at.i] as Line | undefined;
      if (next && next.indent > indent) {
        value = ITEM_LINE.test(next.text) ? readSeq(lines, at, next.indent) : readMap(lines, at, next.indent);
      } else if (next && next.indent === indent && ITEM_LINE.test(next.text)) {
        // A list may sit at its key's own indentation.
        value = readSeq(lines, at, indent);
      } else value = { kind: 'scalar', line: line.no, value: null };
    }
    entries.push({ key, line: line.no, value });
  }
  if (at.i < lines.length && lines[at.i].indent > indent) unsupported();
  return { kind: 'map', line: entries[0].line, entries };
}

function readSeq(lines: Line[], at: { i: number }, indent: number): SeqNode {
  const items: TreeNode[] = [];
  const first = lines[at.i].no;
  while (at.i < lines.length && lines[at.i].indent === indent) {
    const m = ITEM_LINE.exec(lines[at.i].text);
    if (!m) break;
    const rest = stripComment(m[2]);
    if (rest === '' || rest.startsWith('[')) unsupported();
    items.push(scalar(rest, lines[at.i].no));
    at.i++;
  }
  if (at.i < lines.length && lines[at.i].indent > indent) unsupported();
  return { kind: 'seq', line: first, items };
}

/** The value after `key: `: one scalar, or a flow list or mapping on this line. */
function inlineValue(text: string, line: number): TreeNode {
  if (text[0] !== '[' && text[0] !== '{') return scalar(text, line);
  const at = { i: 0 };
  const node = flowValue(text, at, line);
  if (at.i !== text.length) unsupported();
  return node;
}

/** `[a, b]`, `{ k: v, k2: [a] }` or a scalar inside them, from `at.i` (moved past it). */
function flowValue(text: string, at: { i: number }, line: number): TreeNode {
  skipSpaces(text, at);
  const open = text[at.i];
  if (open !== '[' && open !== '{') {
    const end = text.slice(at.i).search(/[,\]}]/);
    if (end <= 0) unsupported();
    const token = text.slice(at.i, at.i + end).trim();
    at.i += end;
    return scalar(token, line, PLAIN);
  }
  at.i++;
  const close = open === '[' ? ']' : '}';
  const items: TreeNode[] = [];
  const entries: MapEntry[] = [];
  skipSpaces(text, at);
  while (text[at.i] !== close) {
    if (open === '[') items.push(flowValue(text, at, line));
    else {
      const m = /^ *([A-Za-z_][A-Za-z0-9_.-]*): +/.exec(text.slice(at.i));
      if (!m || entries.some((e) => e.key === m[1]) || NULL.test(m[1]) || BOOL.test(m[1])) unsupported();
      at.i += m[0].length;
      entries.push({ key: m[1], line, value: flowValue(text, at, line) });
    }
    skipSpaces(text, at);
    if (text[at.i] === ',') {
      at.i++;
      skipSpaces(text, at);
      // A trailing comma is YAML the library reads; this reader does not.
      if (text[at.i] === close) unsupported();
    } else if (text[at.i] !== close) unsupported();
  }
  at.i++;
  return open === '[' ? { kind: 'seq', line, items } : { kind: 'map', line, entries };
}

function skipSpaces(text: string, at: { i: number }): void {
  while (text[at.i] === ' ') at.i++;
}

function scalar(text: string, line: number, plain = PLAIN_BLOCK): TreeNode {
  return { kind: 'scalar', line, value: scalarValue(text, plain) };
}

function scalarValue(text: string, plain: RegExp): unknown {
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const body = text.slice(1, -1);
    // Escapes, doubled quotes and folding are the library's.
    if (text.length < 2 || text[text.length - 1] !== quote || body.includes(quote) || body.includes('\\')) unsupported();
    return body;
  }
  if (text === '-' || !plain.test(text)) unsupported();
  if (NULL.test(text)) return null;
  if (BOOL.test(text)) return text[0] === 't' || text[0] === 'T';
  if (INT.test(text)) return parseInt(text, 10);
  if (FLOAT.test(text)) return parseFloat(text);
  if (OTHER_NUMBER.test(text)) unsupported();
  return text;
}

/** The text without a trailing ` # comment` (a `#` inside quotes is text). */
function stripComment(text: string): string {
  if (text.startsWith('#')) return '';
  const quote = text[0];
  if (quote === '"' || quote === "'") {
    const end = text.indexOf(quote, 1);
    if (end < 0) unsupported();
    const after = text.slice(end + 1);
    if (after !== '' && !/^ +(#.*)?$/.test(after)) unsupported();
    return text.slice(0, end + 1);
  }
  const hash = text.search(/ #/);
  return (hash < 0 ? text : text.slice(0, hash)).trim();
}

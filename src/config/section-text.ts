import { SECTION_KEY } from './schema';

/**
 * Host files (an app's server_config.yaml) can be megabytes of the app's own settings
 * around a small `circuit_breakers:` section. Past this size, only the section is parsed.
 */
export const HOST_FILE_FAST_PATH_CHARS = 64 * 1024;

const SECTION_LINE = new RegExp(`^${SECTION_KEY}[ \\t]*:(?=[ \\t\\r\\n]|$)`, 'gm');
/** A column-0 line that starts something new: a key, a sequence item, a document marker. */
const NEXT_TOP_LEVEL = /\n(?=[^\s#])/g;
const DIRECTIVE_OR_MARKER = /^(?:%|---|\.\.\.)/gm;
const BARE_DOCUMENT_START = /^---[ \t]*(?:#.*)?$/;
/** The document's first content: a flow collection may span lines starting at column 0. */
const FIRST_CONTENT = /^[ \t]*([^\s#])/m;
/** An alias could point at an anchor outside the cut. */
const ALIAS = /(?:^|[\s[{,])\*[^\s\]},]/;

/** The section cut out of a host file, and how many lines of the file come before it. */
export interface SectionCut {
  readonly text: string;
  readonly linesBefore: number;
}

/**
 * The `circuit_breakers:` section of a large document as a document of its own; null when the full
 * document must be parsed instead: a small file (the full parse is cheap and also reports
 * YAML errors elsewhere in it), no such top-level key or more than one, directives or
 * several documents, a document that is a flow collection, an alias that may reach outside
 * the section, or a section that does not end at the next top-level key.
 *
 * In a valid document, a line starting at column 0 is a top-level key, a comment, a
 * document marker or a compact sequence item (flow and quoted scalars must be indented on
 * their continuation lines), so the section runs from its key to the next such line.
 */
export function sectionText(text: string): SectionCut | null {
  if (text.length < HOST_FILE_FAST_PATH_CHARS) return null;
  SECTION_LINE.lastIndex = 0;
  const found = SECTION_LINE.exec(text);
  if (found === null || SECTION_LINE.exec(text) !== null) return null;
  const start = found.index;
  if (!onlyALeadingDocumentStart(text, start)) return null;
  const first = FIRST_CONTENT.exec(text.startsWith('---') ? text.slice(text.indexOf('\n') + 1) : text);
  if (first !== null && (first[1] === '{' || first[1] === '[')) return null;

  NEXT_TOP_LEVEL.lastIndex = start + found[0].length;
  const next = NEXT_TOP_LEVEL.exec(text);
  const end = next === null ? text.length : next.index + 1;
  if (next !== null && text[end] === '-') return null;
  const section = text.slice(start, end);
  if (ALIAS.test(section)) return null;
  return { text: section, linesBefore: linesBefore(text, start) };
}

/** One `---` before any content is a plain single document; anything else is not cut. */
function onlyALeadingDocumentStart(text: string, sectionStart: number): boolean {
  DIRECTIVE_OR_MARKER.lastIndex = 0;
  const first = DIRECTIVE_OR_MARKER.exec(text);
  if (first === null) return true;
  if (DIRECTIVE_OR_MARKER.exec(text) !== null || first.index > sectionStart) return false;
  const lineEnd = text.indexOf('\n', first.index);
  if (!BARE_DOCUMENT_START.test(text.slice(first.index, lineEnd === -1 ? text.length : lineEnd).replace(/\r$/, ''))) return false;
  // Only blank lines and comments before it.
  return /^(?:[ \t]*(?:#[^\n]*)?\r?\n)*$/.test(text.slice(0, first.index));
}

function linesBefore(text: string, upTo: number): number {
  let lines = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < upTo; i = text.indexOf('\n', i + 1)) lines++;
  return lines;
}

import type { Document, LineCounter } from 'yaml';
import type { Problems } from './problems';
import { SECTION_KEY } from './schema';
import { sectionText } from './section-text';
import { fromYaml, type FromYamlOptions, type TreeNode } from './tree';
import { yaml } from './yaml';

/**
 * The configuration section of a document, read with the YAML library: syntax errors and
 * repeated keys are thrown as ConfigError (through `problems`), with their lines.
 */
export function yamlSection(source: string, problems: Problems): { node: TreeNode | null; path: string } {
  // A big host file: parse only its section when that can be cut out exactly.
  const cut = sectionText(source);
  let parsed = cut === null ? null : parse(cut.text, cut.linesBefore);
  if (parsed === null || parsed.doc.errors.length > 0) parsed = parse(source);
  const { doc, lines } = parsed;
  if (doc.errors.length > 0) {
    // Past a syntax error the tree is guesswork; validating it would only add noise.
    for (const e of doc.errors) {
      const summary =
        e.code === 'MULTIPLE_DOCS'
          ? 'the file holds more than one YAML document (a "---" line); it must hold one'
          : e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      problems.addText(e.linePos?.[0].line ?? null, '', null, 'valid YAML', `YAML syntax error: ${summary}`);
    }
    problems.throwIfAny();
  }

  // Repeated keys are checked here, in the part that is ours, in linear time: the parser's
  // own check compares every key with every earlier one of its mapping, over the whole
  // document (a 2 MB host file took minutes), and the rest of a host file is the app's.
  let duplicates = 0;
  const duplicateKey = (line: number | null, path: string): void => {
    duplicates++;
    problems.addText(line, '', null, 'valid YAML', `YAML syntax error: Map keys must be unique (${path} appears more than once)`);
  };
  const { start, path } = locateSection(doc, lines, duplicateKey);
  const node = fromYaml(doc, lines, problems, { start, onDuplicateKey: duplicateKey });
  if (duplicates > 0) {
    problems.sortByLine();
    problems.throwIfAny();
  }
  return { node, path };
}

/** Line numbers of a parsed text, shifted by the lines of the file before it. */
type Lines = Pick<LineCounter, 'linePos'>;

function parse(text: string, linesBefore = 0): { doc: Document.Parsed; lines: Lines } {
  const { LineCounter, parseDocument } = yaml();
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: true, uniqueKeys: false });
  const lines: Lines =
    linesBefore === 0
      ? counter
      : {
          linePos: (offset: number) => {
            const pos = counter.linePos(offset);
            return { line: pos.line + linesBefore, col: pos.col };
          },
        };
  return { doc, lines };
}

/**
 * The section node: the value of a top-level `circuit_breakers` key, else the whole
 * document. A root with a merge key (`<<`) is converted whole, since the section could
 * come from the merge.
 */
function locateSection(
  doc: Document.Parsed,
  lines: Lines,
  duplicateKey: (line: number | null, path: string) => void,
): { start: FromYamlOptions['start']; path: string } {
  const { isMap, isScalar } = yaml();
  const root = doc.contents;
  if (!isMap(root) || root.items.some((p) => isScalar(p.key) && p.key.value === '<<')) return { start: undefined, path: '' };
  const pairs = root.items.filter((p) => isScalar(p.key) && String(p.key.value) === SECTION_KEY);
  if (pairs.length === 0) return { start: undefined, path: '' };
  const lineOf = (node: unknown): number | null => {
    const range = (node as { range?: [number, number, number] | null }).range;
    return range ? lines.linePos(range[0]).line : null;
  };
  for (const extra of pairs.slice(1)) duplicateKey(lineOf(extra.key), SECTION_KEY);
  const pair = pairs[0];
  return { start: { node: pair.value, line: lineOf(pair.key), path: SECTION_KEY }, path: SECTION_KEY };
}

import { LineCounter, parseDocument } from 'yaml';
import { withBuiltInModules } from './defaults';
import { Problems } from './problems';
import { SECTION_KEY } from './schema';
import { validateSection } from './section';
import { fromYaml, type TreeNode } from './tree';
import type { BreakerboxConfig, ConfigEnvOptions } from './types';

/**
 * Parses and validates a configuration document. `file` is only used to name the source
 * in problems and in `source` (loadConfig passes an absolute path). Throws ConfigError
 * listing every problem found.
 *
 * Document shapes:
 * - a mapping with a `circuit_breakers` key: that key is the section and every other
 *   top-level key is ignored (the file may be an app's own server_config.yaml);
 * - any other mapping: the section itself;
 * - an empty document, or `circuit_breakers:` with nothing under it: an empty section,
 *   i.e. enabled with the built-in breakers.
 * Modules the file does not give a breaker keep their built-in one (see withBuiltInModules).
 */
export function parseConfig(text: string, file: string, opts: ConfigEnvOptions = {}): BreakerboxConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const problems = new Problems(file);

  const lines = new LineCounter();
  const doc = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    // Past a syntax error the tree is guesswork; validating it would only add noise.
    for (const e of doc.errors) {
      const summary = e.code === 'MULTIPLE_DOCS'
        ? 'the file holds more than one YAML document (a "---" line); it must hold one'
        : e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      problems.addText(e.linePos?.[0].line ?? null, '', null, 'valid YAML', `YAML syntax error: ${summary}`);
    }
    problems.throwIfAny();
  }

  const root = fromYaml(doc, lines, problems);
  const { node, path } = locateSection(root);
  const config = validateSection(node, path, { source: file, env, cwd, problems });
  problems.sortByLine();
  problems.throwIfAny();
  return withBuiltInModules(config, { cwd });
}

function locateSection(root: TreeNode | null): { node: TreeNode | null; path: string } {
  if (root?.kind === 'map') {
    const wrapped = root.entries.find((e) => e.key === SECTION_KEY);
    if (wrapped !== undefined) return { node: wrapped.value, path: SECTION_KEY };
  }
  return { node: root, path: '' };
}

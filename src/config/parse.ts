import { withBuiltInModules } from './defaults';
import { readPlainYaml } from './plain-yaml';
import { Problems } from './problems';
import { SECTION_KEY } from './schema';
import { validateSection } from './section';
import type { TreeNode } from './tree';
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

  const source = text.replace(/^\uFEFF/, '');
  const { node, path } = plainSection(source) ?? yamlSection(source, problems);
  const config = validateSection(node, path, { source: file, env, cwd, problems });
  problems.sortByLine();
  problems.throwIfAny();
  return withBuiltInModules(config, { cwd });
}

/** The YAML library's reading of the section (loaded only for files beyond plain-yaml.ts's subset). */
function yamlSection(source: string, problems: Problems): { node: TreeNode | null; path: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./yaml-section') as typeof import('./yaml-section')).yamlSection(source, problems);
}

/** The section of a file within the subset plain-yaml.ts reads, else undefined. */
function plainSection(source: string): { node: TreeNode | null; path: string } | undefined {
  const root = readPlainYaml(source);
  if (root === undefined) return undefined;
  const section = root?.kind === 'map' ? root.entries.find((e) => e.key === SECTION_KEY) : undefined;
  return section ? { node: section.value, path: SECTION_KEY } : { node: root, path: '' };
}

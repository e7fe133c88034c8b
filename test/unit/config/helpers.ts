import { expect } from 'chai';
import { ConfigError, parseConfig, type ConfigProblem } from '../../../src/config';

export const FILE = '/abs/breakerbox.yaml';

/** Parses `text` expecting failure; returns the problems (fails the test if none). */
export function problemsOf(text: string, opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ConfigProblem[] {
  try {
    parseConfig(text, FILE, { env: {}, cwd: '/srv/app', ...opts });
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  expect.fail(`expected a ConfigError for:\n${text}`);
}

/** Joins lines, so YAML in tests keeps its indentation readable. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

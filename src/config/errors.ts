import type { ConfigProblem } from './types';

/**
 * Thrown by loadConfig/parseConfig. Carries every problem found, so a user fixes the file
 * in one round instead of one error per restart.
 */
export class ConfigError extends Error {
  readonly code = 'EBREAKERBOXCONFIG' as const;
  /** In document order; environment problems last. Never empty. */
  readonly problems: ConfigProblem[];
  /** The file at fault, or null when only the environment / built-in defaults were involved. */
  readonly file: string | null;

  constructor(problems: ConfigProblem[], file: string | null) {
    super(formatMessage(problems, file));
    this.name = 'ConfigError';
    this.problems = problems;
    this.file = file;
  }
}

function formatMessage(problems: readonly ConfigProblem[], file: string | null): string {
  const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  const where = file === null ? '' : ` in ${file}`;
  return [`breakerbox: invalid configuration${where} (${count}):`, ...problems.map((p) => p.message)].join('\n');
}

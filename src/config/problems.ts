import { ConfigError } from './errors';
import type { ConfigProblem } from './types';

/** Short enough to keep a problem on one line, long enough to recognise the value. */
const MAX_VALUE_CHARS = 60;

/** A value as the user would recognise it from their YAML. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 3)}...` : text;
}

/**
 * Collects problems while validation carries on past them, so that every problem of a
 * file is reported at once.
 */
export class Problems {
  readonly list: ConfigProblem[] = [];

  constructor(readonly file: string | null) {}

  /** The usual shape: `path: got X, expected Y` with an optional hint after it. */
  add(line: number | null, path: string, value: unknown, expected: string, hint?: string): void {
    const body = `got ${formatValue(value)}, expected ${expected}${hint ? `; ${hint}` : ''}`;
    this.push(this.file, line, path, value, expected, body);
  }

  /** For problems where "got X" would read oddly (unknown keys, unreadable files). */
  addText(line: number | null, path: string, value: unknown, expected: string, text: string): void {
    this.push(this.file, line, path, value, expected, text);
  }

  /** A bad environment variable: no file or line to point at. */
  addEnv(variable: string, value: unknown, expected: string, hint?: string): void {
    const body = `got ${formatValue(value)}, expected ${expected}${hint ? `; ${hint}` : ''}`;
    this.list.push({
      file: null,
      line: null,
      path: variable,
      value,
      expected,
      message: `environment variable ${variable}: ${body}`,
    });
  }

  /** Document order reads best; problems without a line (the environment) go last. */
  sortByLine(): void {
    const key = (p: ConfigProblem) => p.line ?? Number.MAX_SAFE_INTEGER;
    this.list.sort((a, b) => key(a) - key(b));
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw this.toError();
  }

  toError(): ConfigError {
    return new ConfigError(this.list, this.file);
  }

  private push(file: string | null, line: number | null, path: string, value: unknown, expected: string, body: string): void {
    const where = `${file ?? '<built-in defaults>'}${line === null ? '' : `:${line}`}`;
    const message = `${where}: ${path === '' ? '' : `${path}: `}${body}`;
    this.list.push({ file, line, path, value, expected, message });
  }
}

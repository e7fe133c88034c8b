import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { defaultConfig } from './defaults';
import { parseConfig } from './parse';
import { Problems } from './problems';
import { ENV_CONFIG } from './schema';
import type { BreakerboxConfig, LoadConfigOptions } from './types';

const DEFAULT_FILE = 'breakerbox.yaml';

/**
 * Finds, reads and validates the configuration: `opts.path`, else the file named by
 * BREAKERBOX_CONFIG, else `<cwd>/breakerbox.yaml`, else the built-in defaults.
 * A file that is named explicitly (option or variable) must exist. Throws ConfigError.
 */
export function loadConfig(opts: LoadConfigOptions = {}): BreakerboxConfig {
  const env = opts.env ?? process.env;
  const cwd = path.resolve(opts.cwd ?? process.cwd());
  const parseOpts = { env, cwd };

  if (opts.path !== undefined) {
    const file = path.resolve(cwd, opts.path);
    return parseConfig(readOrThrow(file), file, parseOpts);
  }

  const named = env[ENV_CONFIG];
  if (named !== undefined && named.trim() !== '') {
    const file = path.resolve(cwd, named.trim());
    const text = tryRead(file);
    if (text === undefined) {
      const problems = new Problems(null);
      problems.addEnv(ENV_CONFIG, named, 'the path of an existing file', `${file} does not exist`);
      throw problems.toError();
    }
    return parseConfig(text, file, parseOpts);
  }

  const local = path.join(cwd, DEFAULT_FILE);
  const text = tryRead(local);
  return text === undefined ? defaultConfig(parseOpts) : parseConfig(text, local, parseOpts);
}

/** The file's text, or undefined if there is no such file; other read errors throw ConfigError. */
function tryRead(file: string): string | undefined {
  // Reading straight away (no exists-check first) keeps the file read the only I/O and race-free.
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    return failRead(file, err);
  }
}

function readOrThrow(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return failRead(file, err);
  }
}

function failRead(file: string, err: unknown): never {
  const problems = new Problems(file);
  const reason = (err as NodeJS.ErrnoException).code ?? String(err);
  problems.addText(null, '', file, 'a readable configuration file', `cannot read the configuration file (${reason})`);
  throw problems.toError();
}

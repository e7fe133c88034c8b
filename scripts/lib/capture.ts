/**
 * What the capture-*-errors scripts share: summarising a real error into JSON, collecting
 * it from a call, running the scenario list, and writing the fixture the unit tests replay.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An error's own data (no stack) as JSON-safe values; which fields depends on the library. */
export interface ErrorSummary {
  className?: string;
  name?: string;
  message?: string;
  code?: string | number;
  [key: string]: unknown;
}

/** Which own fields of an error a script keeps, in the order they are written. */
export interface SummaryFields {
  /** Kept when they are strings (e.g. name, message, syscall). */
  strings: readonly string[];
  /** Kept when they are numbers; written after `code`, which may be either. */
  numbers: readonly string[];
  /** Kept whatever they hold, when defined (e.g. nats' permissionContext). */
  values?: readonly string[];
  /** Hold one nested error, summarised the same way (e.g. cause). */
  nested: readonly string[];
  /** Whether to summarise the first four of an AggregateError's `errors`. */
  errors: boolean;
}

/** How deep nested errors are followed. */
const MAX_DEPTH = 3;

/** Summarise `err` keeping the `fields` a script cares about, nested errors included. */
export function summarize(err: unknown, fields: SummaryFields, depth = 0): ErrorSummary {
  if (err === null || typeof err !== 'object') return { message: String(err) };
  const e = err as Record<string, unknown>;
  const out: ErrorSummary = { className: (err as object).constructor?.name };
  for (const key of fields.strings) {
    if (typeof e[key] === 'string') out[key] = e[key];
  }
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  for (const key of fields.numbers) {
    if (typeof e[key] === 'number') out[key] = e[key];
  }
  for (const key of fields.values ?? []) {
    if (e[key] !== undefined) out[key] = e[key];
  }
  if (depth < MAX_DEPTH) {
    for (const key of fields.nested) {
      if (e[key] !== undefined && e[key] !== null) out[key] = summarize(e[key], fields, depth + 1);
    }
    if (fields.errors && Array.isArray(e.errors)) out.errors = e.errors.slice(0, 4).map((x) => summarize(x, fields, depth + 1));
  }
  return out;
}

/** A case whose error is checked by its `code` (fs, nats). */
export interface CodeScenario {
  id: string;
  scenario: string;
  /** The code the library must produce; capturing fails loudly if it changed. */
  expectCode: string;
  /** The verdict the classifier must give. */
  failure: boolean;
  kind: string;
  /** Provokes the error and resolves with it. */
  run: () => Promise<unknown>;
}

/** Resolve with what `fn` threw or rejected with; fail if it succeeded. */
export async function errorOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, got success');
}

/** Where the fixture `file` lives: test/unit/classify/fixtures/. */
export function fixturePath(file: string): string {
  return join(__dirname, '..', '..', 'test', 'unit', 'classify', 'fixtures', file);
}

/** The installed version of `pkg`, from its package.json. */
export function installedVersion(pkg: string): string {
  return (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
}

/**
 * Run each scenario in order and hand what it produced to `record`, which stores the case
 * and returns a problem (the library produced something other than expected) or null.
 * A scenario that throws is a problem too. Returns the problems.
 */
export async function captureAll<S extends { id: string; run: () => Promise<unknown> }>(
  scenarios: readonly S[],
  record: (s: S, result: Awaited<ReturnType<S['run']>>) => string | null,
): Promise<string[]> {
  const problems: string[] = [];
  for (const s of scenarios) {
    let result: Awaited<ReturnType<S['run']>>;
    try {
      result = (await s.run()) as Awaited<ReturnType<S['run']>>;
    } catch (e) {
      problems.push(`${s.id}: ${(e as Error).message}`);
      continue;
    }
    const problem = record(s, result);
    if (problem !== null) problems.push(`${s.id}: ${problem}`);
  }
  return problems;
}

/** Write the fixture, unless there were problems: then throw and leave the old one. */
export function writeFixture(file: string, fixture: { cases: readonly unknown[] }, problems: readonly string[]): void {
  if (problems.length) {
    throw new Error(`capture failed, fixture not written:\n  ${problems.join('\n  ')}`);
  }
  writeFileSync(file, `${JSON.stringify(fixture, null, 2)}\n`);
  process.stdout.write(`wrote ${fixture.cases.length} cases to ${file}\n`);
}

/** Run a script's `main`, exiting 0 when it resolves, or 1 with its message when it fails. */
export function runScript(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

/**
 * Gates integration tests on the real services they need (Postgres, NATS, the Postgres
 * binaries for private servers).
 *
 * - On a developer machine a missing service skips the suite (mocha "pending"), so
 *   `npm test` works without docker.
 * - In CI a missing service fails the suite with a message naming the service and why: a CI
 *   job that silently skipped every integration test would look green while testing nothing.
 *   CI means `CI` is set (and not "false"/"0"), or `BREAKERBOX_REQUIRE_SERVICES=1`;
 *   `BREAKERBOX_REQUIRE_SERVICES=0` allows skipping even in CI.
 *
 * @example
 *   describe('pg patcher against a real server', function () {
 *     before(requireService('postgres', postgresAvailable));
 *     ...
 *   });
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import pg from 'pg';

/** A check resolves when the service is usable and rejects with the reason when not. */
export type ServiceCheck = () => Promise<void>;

const CHECK_TIMEOUT_MS = 2_000;

/** True when missing services must fail tests instead of skipping them. */
export function servicesRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const explicit = env.BREAKERBOX_REQUIRE_SERVICES;
  if (explicit !== undefined && explicit !== '') return isTruthy(explicit);
  return env.CI !== undefined && isTruthy(env.CI);
}

function isTruthy(value: string): boolean {
  return !['0', 'false', 'no', 'off', ''].includes(value.trim().toLowerCase());
}

/**
 * A mocha hook (for `before`/`beforeEach`, or as a test's first line via `checkService`)
 * that runs `check` and, when it rejects, skips the suite, or fails it when services are
 * required. Must be passed to mocha as is: it needs mocha's `this`.
 */
export function requireService(name: string, check: ServiceCheck): (this: Mocha.Context) => Promise<void> {
  return async function requireServiceHook(this: Mocha.Context): Promise<void> {
    await checkService(this, name, check);
  };
}

/** `requireService` for use inside an existing hook or test: `await checkService(this, ...)`. */
export async function checkService(ctx: Mocha.Context, name: string, check: ServiceCheck): Promise<void> {
  try {
    await check();
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (servicesRequired()) {
      throw new Error(
        `required service "${name}" is unavailable: ${reason}. ` +
          'Missing services fail tests when CI or BREAKERBOX_REQUIRE_SERVICES=1 is set; ' +
          'start the service (see the CI service definitions) or unset those to skip.',
      );
    }
    // Visible in the run's output, so a skipped integration suite is not mistaken for a pass.
    console.warn(`  [skip] ${name} unavailable: ${reason}`);
    ctx.skip();
  }
}

export interface PostgresCheckOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 5432. */
  port?: number;
  /** Default $PGUSER, else 'postgres'. */
  user?: string;
  /** Default $PGDATABASE, else 'test'. */
  database?: string;
}

/**
 * Resolves when Postgres answers `SELECT 1` (the shared test server: 127.0.0.1:5432, db
 * `test`, trust auth). An open port is not enough: a server still starting up refuses queries.
 */
export async function postgresAvailable(options: PostgresCheckOptions = {}): Promise<void> {
  const client = new pg.Client({
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 5432,
    user: options.user ?? process.env.PGUSER ?? 'postgres',
    database: options.database ?? process.env.PGDATABASE ?? 'test',
    connectionTimeoutMillis: CHECK_TIMEOUT_MS,
    query_timeout: CHECK_TIMEOUT_MS,
  });
  // A server dying right after connect emits 'error' on the client; that must not crash the run.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface NatsCheckOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 4222. */
  port?: number;
}

/** Resolves when a NATS server greets on the port (its `INFO {...}` line). */
export function natsAvailable(options: NatsCheckOptions = {}): Promise<void> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 4222;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let received = '';
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => done(new Error(`no NATS greeting from ${host}:${port} within ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      received += chunk;
      if (received.startsWith('INFO ')) done();
      else if (received.length >= 5) done(new Error(`${host}:${port} is not a NATS server (got ${JSON.stringify(received.slice(0, 40))})`));
    });
    socket.on('error', (err) => done(err));
    socket.on('close', () => done(new Error(`${host}:${port} closed the connection before greeting`)));
  });
}

let cachedBinDir: string | undefined;

/**
 * Directory holding `initdb`, `pg_ctl` and `postgres`: `$BREAKERBOX_PG_BIN` if set, else the
 * newest `/usr/lib/postgresql/<version>/bin` (Debian/Ubuntu layout), else the directory of an
 * `initdb` on PATH. Throws, naming where it looked, when there is none.
 */
export function pgBinDir(): string {
  if (cachedBinDir !== undefined) return cachedBinDir;
  const candidates: string[] = [];
  const fromEnv = process.env.BREAKERBOX_PG_BIN;
  if (fromEnv) candidates.push(fromEnv);
  const debianRoot = '/usr/lib/postgresql';
  try {
    const versions = fs
      .readdirSync(debianRoot)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(path.join(debianRoot, v, 'bin'));
  } catch {
    // No Debian layout; PATH below.
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir) candidates.push(dir);

  for (const dir of candidates) {
    if (['initdb', 'pg_ctl', 'postgres'].every((bin) => isExecutable(path.join(dir, bin)))) {
      cachedBinDir = dir;
      return dir;
    }
  }
  throw new Error(
    'PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in ' +
      `${fromEnv ? '$BREAKERBOX_PG_BIN, ' : ''}${debianRoot}/*/bin or PATH; set BREAKERBOX_PG_BIN`,
  );
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Check form of `pgBinDir()`, for `requireService('postgres binaries', pgBinariesAvailable)`. */
export async function pgBinariesAvailable(): Promise<void> {
  pgBinDir();
}

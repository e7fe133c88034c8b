/**
 * A throw-away PostgreSQL server owned by one test: stop it, crash it, starve it of
 * connections, restart it on the same port, without disturbing the shared server on :5432.
 *
 * - Data in a fresh temp dir (`$TMPDIR/breakerbox-pg-*`), unix socket there too, TCP on
 *   127.0.0.1 on a free port, trust auth, user `postgres`, database `postgres`.
 * - Fast and disposable: fsync and full_page_writes off, so only an OS crash could lose data;
 *   commits stay synchronous, so whatever a test committed survives stop('immediate') and
 *   kill(). Autovacuum off; superuser_reserved_connections 0 so `maxConnections` is exactly
 *   how many clients can connect.
 * - initdb refuses to run as root, so as root every server command runs as the `postgres`
 *   OS user (`runuser -u postgres`) and the temp dir belongs to it. initdb runs once per test
 *   process into a template that each server copies, which is several times faster.
 *
 * Cleanup: call `await pg.cleanup()` in `after()` (mocha runs `after` hooks even when a test
 * or `before` hook failed). Two safety nets behind it:
 * - a process 'exit' hook stops every server this module started (immediate mode) and
 *   removes its directory, covering forgotten cleanups, process.exit() and uncaught errors;
 * - a process killed by a signal cannot run that hook, so each directory records its owner's
 *   PID, and the first server started by a later test process stops and removes the
 *   `breakerbox-pg-*` directories whose owner is dead.
 *
 * @example
 *   let server: PrivatePostgres;
 *   before(async function () {
 *     await checkService(this, 'postgres binaries', pgBinariesAvailable);
 *     server = await startPrivatePostgres({ maxConnections: 5 });
 *   });
 *   after(() => server?.cleanup());
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, LOOPBACK } from './free-port';
import { pgBinDir } from './require-services';

/** pg_ctl shutdown modes: wait for clients / disconnect them / abort without a checkpoint. */
export type StopMode = 'smart' | 'fast' | 'immediate';

export interface PrivatePostgresOptions {
  /** max_connections. Default 20. */
  maxConnections?: number;
  /** Extra postgresql.conf settings, e.g. `{ statement_timeout: '5s' }`. Strings are quoted. */
  settings?: Record<string, string | number | boolean>;
  /**
   * Replaces pg_hba.conf (one rule per entry). Default: trust for every local and 127.0.0.1
   * connection. Useful for password-auth tests.
   */
  hba?: string[];
  /** Seconds pg_ctl waits for start/stop. Default 30. */
  timeoutSeconds?: number;
}

export interface StopOptions {
  /** Wait until the server is down. Default true. Smart mode with clients connected needs false. */
  wait?: boolean;
}

export interface PrivatePostgres {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** TCP port; stays the same across stop/start/restart/kill. */
  readonly port: number;
  /** 'postgres' */
  readonly user: string;
  /** 'postgres' */
  readonly database: string;
  /** Directory of the unix socket (`host` for a unix-socket connection). */
  readonly socketDir: string;
  readonly dataDir: string;
  /** The temp dir holding everything; removed by cleanup(). */
  readonly baseDir: string;
  /** Server log (pg_ctl -l); its tail is included in start/stop errors. */
  readonly logFile: string;
  /** A postmaster is alive for this data dir (also during a smart shutdown that waits). */
  readonly running: boolean;
  /** `{ host, port, user, database }`, ready for `new pg.Client(...)` / `new pg.Pool(...)`. */
  clientConfig(): { host: string; port: number; user: string; database: string };
  /** Starts the server (same port, same data) and waits until it accepts connections; no-op while running. */
  start(): Promise<void>;
  /**
   * Stops the server. 'immediate' (default) aborts like a crash: clients get FATAL 57P01
   * then a closed socket. 'fast' disconnects clients (57P01) cleanly. 'smart' waits for
   * clients; meanwhile new connections get 57P03 (use `{ wait: false }`).
   */
  stop(mode?: StopMode, options?: StopOptions): Promise<void>;
  /** stop(mode, default 'fast') then start(). */
  restart(mode?: StopMode): Promise<void>;
  /**
   * SIGKILLs the postmaster and all its processes at once (a crash or power loss): clients
   * see their sockets close with no goodbye. start() afterwards runs crash recovery.
   */
  kill(): Promise<void>;
  /** PID of the running postmaster, or null. */
  postmasterPid(): number | null;
  /** The last `lines` lines of the server log. */
  logTail(lines?: number): string;
  /** Stops the server (immediate) if needed and removes `baseDir`. Idempotent, never throws. */
  cleanup(): Promise<void>;
}

const USER = 'postgres';
const DATABASE = 'postgres';
const PG_OS_USER = 'postgres';
const PORT_ATTEMPTS = 3;

/** Servers not yet cleaned up, for the exit hook. */
const live = new Set<PrivateServer>();
let templateDir: Promise<string> | null = null;
let templateBase: string | null = null;
let exitHookInstalled = false;

export async function startPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const binDir = pgBinDir();
  installExitHook();
  sweepStale(binDir);
  const template = await ensureTemplate(binDir);
  const baseDir = await makeOwnedTempDir(DIR_PREFIX);
  const server = new PrivateServer(binDir, baseDir, options);
  live.add(server);
  try {
    await runAsOwner('cp', ['-a', template, server.dataDir]);
    await fs.promises.mkdir(server.socketDir);
    await chownToPostgres(server.socketDir);
    if (options.hba) await fs.promises.writeFile(path.join(server.dataDir, 'pg_hba.conf'), options.hba.join('\n') + '\n');
    await server.firstStart();
    return server;
  } catch (err) {
    await server.cleanup();
    throw err;
  }
}

class PrivateServer implements PrivatePostgres {
  readonly host = LOOPBACK;
  readonly user = USER;
  readonly database = DATABASE;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  port = 0;
  private cleanedUp = false;
  private readonly timeoutSeconds: number;

  constructor(
    private readonly binDir: string,
    readonly baseDir: string,
    private readonly options: PrivatePostgresOptions,
  ) {
    this.dataDir = path.join(baseDir, 'data');
    this.socketDir = path.join(baseDir, 'sock');
    this.logFile = path.join(baseDir, 'postgres.log');
    this.timeoutSeconds = options.timeoutSeconds ?? 30;
  }

  get running(): boolean {
    return this.postmasterPid() !== null;
  }

  clientConfig(): { host: string; port: number; user: string; database: string } {
    return { host: this.host, port: this.port, user: this.user, database: this.database };
  }

  /** Picks a port and starts; a port taken between freePort() and bind is retried with another. */
  async firstStart(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      await this.writeConfig();
      try {
        await this.start();
        return;
      } catch (err) {
        const portTaken = /could not bind|Address already in use/i.test(this.logTail(20));
        if (!portTaken || attempt >= PORT_ATTEMPTS) throw err;
      }
    }
  }

  private async writeConfig(): Promise<void> {
    const settings: Record<string, string | number | boolean> = {
      port: this.port,
      listen_addresses: LOOPBACK,
      unix_socket_directories: this.socketDir,
      max_connections: this.options.maxConnections ?? 20,
      superuser_reserved_connections: 0,
      fsync: false,
      full_page_writes: false,
      autovacuum: false,
      shared_buffers: '16MB',
      logging_collector: false,
      ...this.options.settings,
    };
    // postgresql.auto.conf is read after postgresql.conf, so these win over initdb's defaults;
    // it is rewritten whole, so retries do not pile up settings.
    const lines = Object.entries(settings).map(([k, v]) => `${k} = ${formatSetting(v)}`);
    await fs.promises.writeFile(path.join(this.dataDir, 'postgresql.auto.conf'), lines.join('\n') + '\n');
    await chownToPostgres(path.join(this.dataDir, 'postgresql.auto.conf'));
  }

  async start(): Promise<void> {
    this.assertNotCleanedUp();
    if (this.running) return;
    try {
      await runAsOwner(path.join(this.binDir, 'pg_ctl'), [
        'start',
        '-D',
        this.dataDir,
        '-l',
        this.logFile,
        '-w',
        '-t',
        String(this.timeoutSeconds),
      ]);
    } catch (err) {
      throw new Error(
        `private postgres failed to start on port ${this.port}: ${(err as Error).message}\n` +
          `--- ${this.logFile} ---\n${this.logTail(20)}`,
      );
    }
  }

  async stop(mode: StopMode = 'immediate', options: StopOptions = {}): Promise<void> {
    if (!this.running) return;
    const wait = options.wait ?? true;
    await runAsOwner(path.join(this.binDir, 'pg_ctl'), [
      'stop',
      '-D',
      this.dataDir,
      '-m',
      mode,
      wait ? '-w' : '-W',
      '-t',
      String(this.timeoutSeconds),
    ]);
  }

  async restart(mode: StopMode = 'fast'): Promise<void> {
    await this.stop(mode);
    await this.start();
  }

  async kill(): Promise<void> {
    const pid = this.postmasterPid();
    if (pid === null) return;
    // Children are collected before anything dies (orphans can no longer be found by parent
    // PID), and everything is frozen before it is killed: a backend that outlives its
    // postmaster by a microsecond notices and sends its client a FATAL error, which a real
    // crash would not.
    const pids = [pid, ...childPids(pid)];
    for (const signal of ['SIGSTOP', 'SIGKILL'] as const) {
      for (const p of pids) {
        try {
          process.kill(p, signal);
        } catch {
          // Already gone.
        }
      }
    }
    const deadline = Date.now() + this.timeoutSeconds * 1000;
    while (pids.some(isAlive)) {
      if (Date.now() > deadline) throw new Error(`private postgres: processes ${pids.filter(isAlive).join(', ')} survived SIGKILL`);
      await sleep(20);
    }
    // Where nothing reaps orphans (some container inits), the dead postmaster stays a zombie
    // holding its PID, and the next postmaster would take the lock files for a live server.
    // It is dead, so its lock is stale; its shared memory is detached and gets recycled.
    const lockFiles = [
      path.join(this.dataDir, 'postmaster.pid'),
      path.join(this.socketDir, `.s.PGSQL.${this.port}.lock`),
      path.join(this.socketDir, `.s.PGSQL.${this.port}`),
    ];
    await Promise.all(lockFiles.map((f) => fs.promises.rm(f, { force: true })));
  }

  postmasterPid(): number | null {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8');
    } catch {
      return null;
    }
    const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : null;
  }

  logTail(lines = 30): string {
    try {
      return fs
        .readFileSync(this.logFile, 'utf8')
        .split('\n')
        .slice(-lines - 1)
        .join('\n');
    } catch {
      return '(no log)';
    }
  }

  async cleanup(): Promise<void> {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    live.delete(this);
    try {
      await this.stop('immediate');
    } catch {
      await this.kill().catch(() => undefined);
    }
    await fs.promises.rm(this.baseDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Synchronous cleanup for the process 'exit' hook, where nothing async runs any more. */
  cleanupSync(): void {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    if (this.postmasterPid() !== null) {
      spawnSync(...ownerCommand(path.join(this.binDir, 'pg_ctl'), ['stop', '-D', this.dataDir, '-m', 'immediate', '-w', '-t', '10']), {
        stdio: 'ignore',
      });
    }
    fs.rmSync(this.baseDir, { recursive: true, force: true });
  }

  private assertNotCleanedUp(): void {
    if (this.cleanedUp) throw new Error('private postgres: already cleaned up');
  }
}

function formatSetting(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'number') return String(value);
  return `'${value.replace(/'/g, "''")}'`;
}

/** One initdb per test process; servers copy it. */
function ensureTemplate(binDir: string): Promise<string> {
  templateDir ??= (async () => {
    const base = await makeOwnedTempDir(`${DIR_PREFIX}template-`);
    templateBase = base;
    const dir = path.join(base, 'data');
    await runAsOwner(path.join(binDir, 'initdb'), [
      '-D',
      dir,
      '-U',
      USER,
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
    ]);
    return dir;
  })().catch((err: unknown) => {
    templateDir = null;
    throw err;
  });
  return templateDir;
}

const DIR_PREFIX = 'breakerbox-pg-';
const OWNER_FILE = 'owner.pid';

async function makeOwnedTempDir(prefix: string): Promise<string> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.promises.writeFile(path.join(dir, OWNER_FILE), String(process.pid));
  await chownToPostgres(dir);
  return dir;
}

let swept = false;

/** Stops and removes servers left behind by test processes that died without cleaning up. */
function sweepStale(binDir: string): void {
  if (swept) return;
  swept = true;
  let entries: string[];
  try {
    entries = fs.readdirSync(os.tmpdir()).filter((e) => e.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(os.tmpdir(), entry);
    let owner: number;
    try {
      owner = Number.parseInt(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'), 10);
    } catch {
      continue; // Being created right now, or not ours to judge.
    }
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue;
    const dataDir = path.join(dir, 'data');
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      spawnSync(...ownerCommand(path.join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10']), {
        stdio: 'ignore',
      });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

let postgresIds: { uid: number; gid: number } | null = null;

async function chownToPostgres(file: string): Promise<void> {
  if (!isRoot()) return;
  if (postgresIds === null) {
    const id = (flag: string): number => {
      const out = spawnSync('id', [flag, PG_OS_USER], { encoding: 'utf8' });
      const n = Number.parseInt(out.stdout, 10);
      if (out.status !== 0 || !Number.isInteger(n)) {
        throw new Error(`running as root needs an OS user "${PG_OS_USER}" to run postgres as (id ${flag} failed)`);
      }
      return n;
    };
    postgresIds = { uid: id('-u'), gid: id('-g') };
  }
  await fs.promises.chown(file, postgresIds.uid, postgresIds.gid);
}

/** [command, args] running `bin` as the data directory's owner: postgres when we are root. */
function ownerCommand(bin: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', PG_OS_USER, '--', bin, ...args]] : [bin, args];
}

function runAsOwner(bin: string, args: string[]): Promise<string> {
  const [cmd, argv] = ownerCommand(bin, args);
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(bin)} ${args[0] ?? ''} failed: ${(stderr || stdout || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** Direct children of `pid`, from /proc (Linux). */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat && stat.ppid === pid) children.push(Number(entry));
  }
  return children;
}

function readStat(pid: number): { state: string; ppid: number } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces; fields follow the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', ppid: Number(fields[1]) };
  } catch {
    return null;
  }
}

/** Alive and not a zombie: a zombie holds its PID but no port, socket or shared memory. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = readStat(pid);
  return stat === null ? true : stat.state !== 'Z' && stat.state !== 'X';
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const server of live) {
      try {
        server.cleanupSync();
      } catch {
        // Best effort: the process is exiting.
      }
    }
    if (templateBase !== null) fs.rmSync(templateBase, { recursive: true, force: true });
  });
}

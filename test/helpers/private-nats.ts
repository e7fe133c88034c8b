/**
 * A nats-server of the test's own, on a free loopback port, that the test may stop,
 * kill and restart on the same port without disturbing the shared server on :4222.
 *
 * ```ts
 * const srv = await startPrivateNats({ jetstream: true });
 * after(() => srv.cleanup());
 * const nc = await connect({ servers: srv.url });
 * await srv.kill();      // abrupt: clients see a dropped socket
 * await srv.start();     // same port, clients reconnect
 * ```
 *
 * Every server started here is SIGKILLed and its temporary directory removed when the
 * test process exits, even if a test forgot `cleanup()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port';

export interface PrivateNatsOptions {
  /** Start with `-js` and a store directory of its own. Default false. */
  jetstream?: boolean;
  /**
   * Contents of a server configuration file (not a path), written to the server's
   * temporary directory and passed with `-c`. The command-line `-a`/`-p` still win.
   */
  config?: string;
  /** Extra command-line arguments, appended last. */
  args?: string[];
  /** How long `start()` waits for the server to accept clients, ms. Default 10000. */
  startTimeoutMs?: number;
}

export interface PrivateNats {
  /** The loopback port, fixed for the life of this handle (restarts reuse it). */
  readonly port: number;
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** True between a successful start and the process exiting. */
  readonly running: boolean;
  /** The current process id, if running. */
  readonly pid: number | undefined;
  /** Start again on the same port and wait until it accepts clients. No-op if running. */
  start(): Promise<void>;
  /** SIGTERM (graceful: clients are told and disconnected), then wait for exit. */
  stop(): Promise<void>;
  /**
   * Send `signal` (default SIGKILL: sockets just drop) and, for SIGKILL/SIGTERM/SIGINT/
   * SIGQUIT, wait for the exit. Other signals are only sent: nats-server reloads its config
   * on SIGHUP, reopens its log on SIGUSR1 and enters lame-duck mode on SIGUSR2.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** `stop()` then `start()`. */
  restart(): Promise<void>;
  /** Kill if running and remove the temporary directory. Idempotent. */
  cleanup(): Promise<void>;
  /** The server's log output so far (for failure messages). */
  logs(): string;
}

/** Thrown by {@link startPrivateNats} when no nats-server binary can be found. */
export class NatsServerMissingError extends Error {
  readonly code = 'ENATSSERVERMISSING';
  constructor() {
    super(
      `nats-server not found (${process.env.NATS_SERVER_BIN ? `NATS_SERVER_BIN=${process.env.NATS_SERVER_BIN}` : '/usr/sbin/nats-server or PATH'}): install it (Debian: apt-get install nats-server) or set NATS_SERVER_BIN`,
    );
    this.name = 'NatsServerMissingError';
  }
}

const DEFAULT_BIN = '/usr/sbin/nats-server';

/**
 * The nats-server binary to run, or null. NATS_SERVER_BIN, when set, is the only candidate
 * (so a wrong value fails instead of silently testing another build); otherwise
 * /usr/sbin/nats-server, then PATH.
 */
export function findNatsServer(): string | null {
  const candidates: string[] = [];
  if (process.env.NATS_SERVER_BIN) {
    candidates.push(process.env.NATS_SERVER_BIN);
  } else {
    candidates.push(DEFAULT_BIN);
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (dir) candidates.push(join(dir, 'nats-server'));
    }
  }
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next candidate
    }
  }
  return null;
}

/** True in CI (`CI` set and not "false"/"0") or with BREAKERBOX_REQUIRE_SERVICES=1. */
export function servicesRequired(): boolean {
  const ci = process.env.CI;
  return (ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0') || process.env.BREAKERBOX_REQUIRE_SERVICES === '1';
}

/**
 * For a mocha `before`/`it`: returns the nats-server path, or, when there is none, skips
 * the test locally but throws in CI, where a missing service must fail the run.
 */
export function requireNatsServer(ctx: Mocha.Context): string {
  const bin = findNatsServer();
  if (bin !== null) return bin;
  if (servicesRequired()) throw new NatsServerMissingError();
  ctx.skip();
  // ctx.skip() throws; this keeps the return type honest.
  throw new NatsServerMissingError();
}

const TERMINATING: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT']);

const live = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A forgotten server would outlive the test run and keep its port.
  process.once('exit', () => {
    for (const kill of live) kill();
  });
}

/** Start a private nats-server on a free port; resolves once it accepts clients. */
export async function startPrivateNats(opts: PrivateNatsOptions = {}): Promise<PrivateNats> {
  const bin = findNatsServer();
  if (bin === null) throw new NatsServerMissingError();
  installExitHook();

  const dir = mkdtempSync(join(tmpdir(), 'breakerbox-nats-'));
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (opts.config !== undefined) {
    const confFile = join(dir, 'server.conf');
    writeFileSync(confFile, opts.config);
    args.push('-c', confFile);
  }
  if (opts.jetstream) args.push('-js', '-sd', join(dir, 'jetstream'));
  if (opts.args) args.push(...opts.args);
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let cleaned = false;

  const killNow = (): void => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!cleaned) rmSync(dir, { recursive: true, force: true });
    cleaned = true;
  };
  live.add(killNow);

  const logs = (): string => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  const isRunning = (): boolean => child !== undefined && child.exitCode === null && child.signalCode === null;

  const start = async (): Promise<void> => {
    if (cleaned) throw new Error('private nats-server was cleaned up');
    if (isRunning()) return;
    // A file, not a pipe: an open pipe would keep mocha's event loop alive.
    const fd = openSync(logFile, 'a');
    let proc: ChildProcess;
    try {
      proc = spawn(bin, args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    proc.unref();
    child = proc;
    exited = new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.once('error', () => resolve());
    });
    try {
      await waitUntilServing(port, proc, startTimeoutMs);
    } catch (err) {
      proc.ref();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
      throw new Error(`private nats-server on port ${port} did not start: ${(err as Error).message}\n${logs()}`);
    }
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    if (!isRunning()) return;
    if (!TERMINATING.has(signal)) {
      child!.kill(signal);
      return;
    }
    // Unref'd children do not keep the loop alive; while we wait for this one, it must.
    child!.ref();
    child!.kill(signal);
    await exited;
  };

  const stop = async (): Promise<void> => {
    if (!isRunning()) return;
    const proc = child!;
    proc.ref();
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  const handle: PrivateNats = {
    port,
    url: `nats://127.0.0.1:${port}`,
    get running() {
      return isRunning();
    },
    get pid() {
      return isRunning() ? child!.pid : undefined;
    },
    start,
    stop,
    kill,
    restart: async () => {
      await stop();
      await start();
    },
    cleanup: async () => {
      await kill('SIGKILL');
      killNow();
      live.delete(killNow);
    },
    logs,
  };

  try {
    await start();
  } catch (err) {
    await handle.cleanup();
    throw err;
  }
  return handle;
}

/** Resolves when a client connection on `port` receives the server's INFO line. */
async function waitUntilServing(port: number, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`exited with ${proc.exitCode ?? proc.signalCode}`);
    }
    if (await receivesInfo(port)) return;
    if (Date.now() > deadline) throw new Error(`not serving after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function receivesInfo(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (chunk) => done(chunk.toString('latin1').startsWith('INFO ')));
  });
}

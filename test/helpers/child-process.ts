/**
 * Run Node.js programs in a child process, the way users run apps under breakerbox:
 *
 * ```ts
 * const r = await runNode(['--require', './dist/register.js', 'app.js'], { env: { BREAKERBOX_CONFIG: cfg } });
 * expect(r.code).to.equal(0);
 *
 * const app = spawnNode(['--require', './dist/register.js', 'server.js']);
 * after(() => app.kill());
 * await app.waitForLine(/listening on (\d+)/);
 * ```
 *
 * The child is the same `node` binary as the test (process.execPath). Every child still
 * running when the test process exits is SIGKILLed.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface NodeRunOptions {
  /**
   * Environment overrides, merged over the test's environment; a key set to `undefined`
   * is removed from the child's environment.
   */
  env?: Record<string, string | undefined>;
  /** Working directory. Default: the test's. */
  cwd?: string;
  /** Run under `ulimit -n <n>` (soft and hard limit on open descriptors), through bash. */
  ulimitNofile?: number;
  /** SIGKILL the child after this many ms; the result then has `timedOut: true`. Default 30000. */
  timeoutMs?: number;
  /** Written to the child's stdin, which is then closed. Default: stdin is closed at once. */
  input?: string;
}

export interface NodeRunResult {
  /** Exit code, or null when ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the helper killed the child because `timeoutMs` passed. */
  timedOut: boolean;
}

export interface NodeProcess {
  readonly pid: number | undefined;
  readonly child: ChildProcess;
  /** Complete stdout lines so far (without the newline). */
  readonly stdoutLines: readonly string[];
  /** Complete stderr lines so far. */
  readonly stderrLines: readonly string[];
  /** Settles when the child exits, whatever the reason. */
  readonly exited: Promise<NodeRunResult>;
  /**
   * Resolves with the first stdout line (past or future) matching `match`; rejects if the
   * child exits first or `timeoutMs` (default 10000) passes, with the output so far.
   */
  waitForLine(match: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Send `signal` (default SIGTERM; SIGKILL after 5 s) and wait for exit. */
  kill(signal?: NodeJS.Signals): Promise<NodeRunResult>;
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of liveChildren) {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  });
}

/** Run `node <args>` to completion and collect its output. Never rejects for a non-zero exit. */
export function runNode(args: string[], opts: NodeRunOptions = {}): Promise<NodeRunResult> {
  return spawnNode(args, opts).exited;
}

/** Start `node <args>` and return a handle to read its output and stop it. */
export function spawnNode(args: string[], opts: NodeRunOptions = {}): NodeProcess {
  installExitHook();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }

  let command = process.execPath;
  let argv = args;
  if (opts.ulimitNofile !== undefined) {
    const n = Math.floor(opts.ulimitNofile);
    if (!(n > 0)) throw new RangeError(`ulimitNofile must be a positive integer, got ${opts.ulimitNofile}`);
    // "$0" "$@" keeps every argument intact, whatever characters it holds.
    command = 'bash';
    argv = ['-c', `ulimit -n ${n} && exec "$0" "$@"`, process.execPath, ...args];
  }

  const child = spawn(command, argv, { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  liveChildren.add(child);

  let stdout = '';
  let stderr = '';
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const lineWaiters = new Set<(line: string) => void>();
  let partialOut = '';
  let partialErr = '';

  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    partialOut += chunk;
    let nl: number;
    while ((nl = partialOut.indexOf('\n')) !== -1) {
      const line = partialOut.slice(0, nl).replace(/\r$/, '');
      partialOut = partialOut.slice(nl + 1);
      stdoutLines.push(line);
      for (const w of [...lineWaiters]) w(line);
    }
  });
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    partialErr += chunk;
    let nl: number;
    while ((nl = partialErr.indexOf('\n')) !== -1) {
      stderrLines.push(partialErr.slice(0, nl).replace(/\r$/, ''));
      partialErr = partialErr.slice(nl + 1);
    }
  });
  // The child may exit before reading its input; that is its business, not a test error.
  child.stdin!.on('error', () => undefined);
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();

  let timedOut = false;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);

  const exited = new Promise<NodeRunResult>((resolve) => {
    let settled = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      liveChildren.delete(child);
      if (partialOut) stdoutLines.push(partialOut);
      if (partialErr) stderrLines.push(partialErr);
      if (spawnError) stderr += `${spawnError.message}\n`;
      resolve({ code, signal, stdout, stderr, timedOut });
    };
    // 'close' (not 'exit') so that all output has been read.
    child.once('close', (code, signal) => finish(code, signal));
    child.once('error', (err) => finish(null, null, err));
  });

  const waitForLine = (match: string | RegExp, waitMs = 10_000): Promise<string> => {
    const test = (line: string): boolean => (typeof match === 'string' ? line.includes(match) : match.test(line));
    const seen = stdoutLines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(t);
        lineWaiters.delete(waiter);
      };
      const waiter = (line: string): void => {
        if (!test(line)) return;
        cleanup();
        resolve(line);
      };
      const t = setTimeout(() => {
        cleanup();
        reject(new Error(`no stdout line matching ${String(match)} within ${waitMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      }, waitMs);
      lineWaiters.add(waiter);
      void exited.then((r) => {
        if (!lineWaiters.has(waiter)) return;
        cleanup();
        reject(
          new Error(
            `child exited (code ${r.code}, signal ${r.signal}) before a line matching ${String(match)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`,
          ),
        );
      });
    });
  };

  const kill = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<NodeRunResult> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      const r = await exited;
      clearTimeout(force);
      return r;
    }
    return exited;
  };

  return {
    get pid() {
      return child.pid;
    },
    child,
    stdoutLines,
    stderrLines,
    exited,
    waitForLine,
    kill,
  };
}

/**
 * The environment for a child node process that must start as a fresh app would: no
 * NODE_OPTIONS, none of the OTEL_* or BREAKERBOX_* variables this process has, then `extra`.
 * (`undefined` removes a variable; see spawnNode.)
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { NODE_OPTIONS: undefined };
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('OTEL_') || key.startsWith('BREAKERBOX_')) env[key] = undefined;
  }
  return { ...env, ...extra };
}

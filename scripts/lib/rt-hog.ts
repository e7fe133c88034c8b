/**
 * A real-time-priority CPU hog on one CPU (`chrt -f`, `taskset -c`): a real cause that holds
 * whatever else runs on that CPU to a fixed share of it, e.g. a database slowed to a third of
 * its capacity by a noisy neighbour.
 *
 * A hog left running would starve the machine, so it is stopped three ways: stop() kills its
 * whole process group; a process 'exit' hook does the same for every hog still running (this
 * covers errors, process.exit() and signals whose handler exits); and it runs under
 * `timeout -s KILL` and ends its own loop after `maxSeconds`, which covers a harness killed
 * with SIGKILL. Needs root (or CAP_SYS_NICE), chrt, taskset and timeout.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RtHogOptions {
  /** The CPU to hog. */
  cpu: number;
  /** Busy this many ms of every `periodMs`. */
  busyMs: number;
  periodMs: number;
  /** Hard limit: the hog is gone after this many seconds whatever happens to its starter. */
  maxSeconds: number;
  /** SCHED_FIFO priority, 1..99. Default 10. */
  priority?: number;
}

export interface RtHog {
  /** PID of its process group leader (`timeout`). */
  readonly pid: number;
  /** Kills it and waits until it is gone. Idempotent. */
  stop(): Promise<void>;
}

const LOOP = path.join(__dirname, 'rt-hog-loop.js');
/** Process groups of hogs still running, for the exit hook. */
const live = new Set<number>();
let exitHookInstalled = false;

export function startRtHog(options: RtHogOptions): Promise<RtHog> {
  const { cpu, busyMs, periodMs, maxSeconds, priority = 10 } = options;
  installExitHook();
  const argv = [
    '-s',
    'KILL',
    String(maxSeconds + 1),
    'chrt',
    '-f',
    String(priority),
    'taskset',
    '-c',
    String(cpu),
    process.execPath,
    LOOP,
    String(busyMs),
    String(periodMs),
    String(maxSeconds * 1000),
  ];
  // Its own process group (detached), so one kill reaches timeout, chrt's exec and node alike.
  const child = spawn('timeout', argv, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error('rt hog: timeout could not be started'));
  live.add(pid);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void closed.then(() => live.delete(pid));
  return new Promise<RtHog>((resolve, reject) => {
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      if (s.includes('hogging')) resolve({ pid, stop: () => stopGroup(pid, child, closed) });
    });
    child.once('error', (err) => reject(new Error(`rt hog: ${err.message}`)));
    void closed.then(() => reject(new Error(`rt hog exited before it started: ${stderr.trim() || `exit ${child.exitCode}`}`)));
  });
}

async function stopGroup(pid: number, child: ChildProcess, closed: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) killGroup(pid);
  await closed;
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) killGroup(pid);
  });
}

/** The kernel's real-time throttle: RT tasks may use runtime of every period (µs), e.g. 950000/1000000. */
export function rtThrottle(): string {
  const read = (f: string): string => {
    try {
      return fs.readFileSync(`/proc/sys/kernel/${f}`, 'utf8').trim();
    } catch {
      return '?';
    }
  };
  return `sched_rt_runtime_us=${read('sched_rt_runtime_us')} of sched_rt_period_us=${read('sched_rt_period_us')}`;
}

/** True when this process may start SCHED_FIFO tasks (root or CAP_SYS_NICE) and has chrt, taskset and timeout. */
export function canRunRtHog(): boolean {
  return spawnSync('timeout', ['5', 'chrt', '-f', '10', 'taskset', '-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
}

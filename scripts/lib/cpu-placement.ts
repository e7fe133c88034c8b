/**
 * Where and how much CPU a benchmark's processes get (Linux): pinning to one CPU with taskset,
 * so a database gets one core and its client the other, and a nice value, so other work on
 * the machine at normal priority takes less of them. Children inherit both from their parent
 * when they fork, so placing a server's parent process covers the backends it starts later;
 * the ones it already has are placed here too.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { procStats } from './proc-stat';

/** True when `taskset` exists and may change this process's affinity. */
export function canPin(): boolean {
  return spawnSync('taskset', ['-p', '-c', '0-1023', String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** Pins every thread of `pid` to `cpu`; throws with taskset's message when it cannot. */
export function pinProcess(pid: number, cpu: number): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' });
  // A process that exited between listing and pinning is nothing left to pin.
  if (r.status !== 0 && fs.existsSync(`/proc/${pid}`)) {
    throw new Error(`taskset could not pin process ${pid} to CPU ${cpu}: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  }
}

/** Pins `pid` and all its descendants to `cpu`. */
export function pinProcessTree(pid: number, cpu: number): number[] {
  const pids = [pid, ...descendants(pid)];
  for (const p of pids) pinProcess(p, cpu);
  return pids;
}

/** Sets the nice value of `pid` and all its descendants (negative: more CPU than normal-priority processes). */
export function reniceProcessTree(pid: number, nice: number): void {
  for (const p of [pid, ...descendants(pid)]) {
    try {
      os.setPriority(p, nice);
    } catch (err) {
      if (fs.existsSync(`/proc/${p}`)) throw new Error(`cannot set nice ${nice} on process ${p}: ${(err as Error).message}`);
    }
  }
}

/** The CPUs `pid` may run on, as taskset prints them (e.g. "1"). */
export function affinityOf(pid: number): string {
  const r = spawnSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8' });
  return r.stdout.trim().replace(/^.*:\s*/, '');
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const { pid: child, ppid } of procStats()) {
    const list = children.get(ppid) ?? [];
    list.push(child);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

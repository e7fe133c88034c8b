/**
 * The processes Linux lists in /proc, each with the fields of its `stat` line that the
 * benchmarks and their tests ask about. A process that ends while being read is left out.
 */
import * as fs from 'node:fs';

export interface ProcStat {
  pid: number;
  /** The command name (it may hold spaces and parentheses). */
  comm: string;
  /** One letter: R running, S sleeping, Z zombie, X dead... */
  state: string;
  ppid: number;
  pgrp: number;
}

export function procStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The command name is in parentheses and may hold spaces; the fields after it are plain.
    const close = stat.lastIndexOf(')');
    const [state, ppid, pgrp] = stat.slice(close + 2).split(' ');
    out.push({ pid: Number(entry), comm: stat.slice(stat.indexOf('(') + 1, close), state, ppid: Number(ppid), pgrp: Number(pgrp) });
  }
  return out;
}

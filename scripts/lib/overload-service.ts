/**
 * Runs the overload benchmark's service (scripts/bench-overload/service.js) as a child
 * process under the preload and collects what it printed: call records, samples, the
 * closed-loop levels, when it started and stopped.
 */
import * as path from 'node:path';
import { cleanEnv, spawnNode } from '../../test/helpers/child-process';
import type { CallRecord, ServiceSample } from './overload-stats';

const SERVICE = path.join(__dirname, '..', 'bench-overload', 'service.js');

export interface ServiceRun {
  /** When the measured part began (after the pool's connections were opened), epoch ms. */
  startedAt: number;
  /** When it stopped waiting for calls, epoch ms. */
  endedAt: number;
  /** Open loop: calls scheduled. */
  scheduled: number;
  /** Calls still running when it stopped. */
  unfinished: number;
  calls: CallRecord[];
  samples: ServiceSample[];
  levels: { c: number; t0: number; t1: number }[];
  /** The service's stderr (the preload's log lines, errors). */
  stderr: string;
}

export interface ServiceOptions {
  /** The build whose register.js preloads the service. */
  dist: string;
  /** BREAKERBOX_CONFIG for the service. */
  configFile: string;
  /** PG* variables to reach the database. */
  pgEnv: Record<string, string>;
  poolMax: number;
  queryRows: number;
  mode: { kind: 'open'; rate: number; durationMs: number } | { kind: 'closed'; levels: number[]; levelMs: number };
  /** Called once the measured part has begun, with its start time; the run waits for it. */
  during?: (startedAt: number) => Promise<void>;
}

export async function runService(o: ServiceOptions): Promise<ServiceRun> {
  const modeEnv =
    o.mode.kind === 'open'
      ? { MODE: 'open', RATE: String(o.mode.rate), DURATION_MS: String(o.mode.durationMs) }
      : { MODE: 'closed', LEVELS: o.mode.levels.join(','), LEVEL_MS: String(o.mode.levelMs) };
  const expectedMs = o.mode.kind === 'open' ? o.mode.durationMs : o.mode.levels.length * o.mode.levelMs;
  const child = spawnNode(['--require', path.join(o.dist, 'register.js'), SERVICE], {
    env: cleanEnv({
      ...o.pgEnv,
      ...modeEnv,
      BREAKERBOX_CONFIG: o.configFile,
      BREAKERBOX_DIST: o.dist,
      POOL_MAX: String(o.poolMax),
      QUERY_ROWS: String(o.queryRows),
    }),
    timeoutMs: expectedMs + 60_000,
  });
  try {
    const start = JSON.parse(await child.waitForLine(/"ev":"start"/, 30_000)) as { t: number };
    if (o.during) await o.during(start.t);
    const result = await child.exited;
    if (result.code !== 0) throw new Error(`overload service exited with ${result.code ?? result.signal}:\n${result.stderr}`);
    return parse(child.stdoutLines, start.t, result.stderr);
  } finally {
    await child.kill('SIGKILL');
  }
}

function parse(lines: readonly string[], startedAt: number, stderr: string): ServiceRun {
  const run: ServiceRun = { startedAt, endedAt: NaN, scheduled: 0, unfinished: 0, calls: [], samples: [], levels: [], stderr };
  for (const raw of lines) {
    let line: { ev?: string; [k: string]: unknown };
    try {
      line = JSON.parse(raw) as typeof line;
    } catch {
      continue; // not ours (e.g. an app log line)
    }
    if (line.ev === 'c') run.calls.push(line as unknown as CallRecord);
    else if (line.ev === 's') run.samples.push(line as unknown as ServiceSample);
    else if (line.ev === 'level') run.levels.push(line as unknown as ServiceRun['levels'][number]);
    else if (line.ev === 'scheduled') run.scheduled = line.n as number;
    else if (line.ev === 'done') {
      run.endedAt = line.t as number;
      run.unfinished = line.unfinished as number;
    }
  }
  return run;
}

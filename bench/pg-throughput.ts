/**
 * pg `SELECT 1` throughput, bare vs under `--require breakerbox/register`, in alternating
 * child processes pinned with taskset (node on core 1, the Postgres backend on core 0):
 * unpinned, this 2-core machine's noise is larger than the difference being measured.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface PgThroughput {
  bare: number;
  instrumented: number;
  /** Median over runs of instrumented/bare within each adjacent pair: drift cancels within a pair. */
  ratio: number;
  /** Lowest and highest pair ratio, to show the noise. */
  spread: [number, number];
  /** Median CPU time per query, µs, of each side. */
  cpuBare: number;
  cpuInstrumented: number;
  runs: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function pgThroughput(runs = 15, seconds = 2): PgThroughput | string {
  const root = resolve(__dirname, '..', '..');
  const client = join(root, 'dist-bench', 'bench', 'pg-client.js');
  const register = join(root, 'dist', 'register.js');
  const dir = mkdtempSync(join(tmpdir(), 'breakerbox-bench-'));
  const config = join(dir, 'breakerbox.yaml');
  writeFileSync(config, 'circuit_breakers:\n  database:\n    failure_threshold: 3\n    timeout: 30\n  monitoring:\n    enabled: true\n    port: 19466\n    host: 127.0.0.1\n    log_level: warn\n');
  const pin = hasTaskset();
  const cpu: { bare: number[]; inst: number[] } = { bare: [], inst: [] };
  const run = (instrumented: boolean): number => {
    const nodeArgs = [...(instrumented ? ['--require', register] : []), client];
    const cmd = pin ? 'taskset' : process.execPath;
    const args = pin ? ['-c', '1', process.execPath, ...nodeArgs] : nodeArgs;
    const out = spawnSync(cmd, args, { env: { ...process.env, BREAKERBOX_CONFIG: config, BENCH_PG_SECONDS: String(seconds) }, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`pg throughput run failed: ${out.stderr}`);
    const result = JSON.parse(out.stdout.trim().split('\n').pop() as string) as { qps: number; cpuUsPerQuery: number };
    (instrumented ? cpu.inst : cpu.bare).push(result.cpuUsPerQuery);
    return result.qps;
  };
  try {
    run(false);
  } catch (err) {
    return `skipped: ${(err as Error).message.split('\n')[0]}`;
  }
  const bare: number[] = [];
  const inst: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate the order each round so drift does not favour one side.
    if (i % 2 === 0) {
      bare.push(run(false));
      inst.push(run(true));
    } else {
      inst.push(run(true));
      bare.push(run(false));
    }
  }
  const ratios = inst.map((q, i) => q / bare[i]);
  cpu.bare.shift(); // the warm-up run
  return { bare: median(bare), instrumented: median(inst), ratio: median(ratios), spread: [Math.min(...ratios), Math.max(...ratios)], cpuBare: median(cpu.bare), cpuInstrumented: median(cpu.inst), runs };
}

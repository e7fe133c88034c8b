/**
 * pg `SELECT 1` throughput against the real server: bare, under the preload with pg not
 * guarded (what the loaded environment costs), and under the preload guarding pg (all of
 * it). Each run is a child process pinned with taskset (node on core 1, the Postgres backend
 * on core 0): unpinned, this 2-core machine's noise is larger than the difference measured.
 * The arms rotate within each round and each is compared with the bare run of its round.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { distDir, median, spread, type Spread } from './stats';

export interface PgThroughput {
  /** Median queries per second of each arm. */
  bare: number;
  instrumented: number;
  /** instrumented/bare throughput, per round. */
  ratio: Spread;
  /** preload-without-pg-breaker/bare throughput, per round: the environment alone. */
  envRatio: Spread;
  /** Client CPU µs per query, median of each arm. */
  cpuBare: number;
  cpuEnv: number;
  cpuInstrumented: number;
  /** instrumented minus bare client CPU µs per query, per round. */
  cpuDiff: Spread;
  runs: number;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

type Arm = 'bare' | 'env' | 'guarded';

export function pgThroughput(runs = 20, seconds = 1): PgThroughput | string {
  const root = resolve(__dirname, '..', '..');
  const client = join(root, 'dist-bench', 'bench', 'pg-client.js');
  const register = join(distDir(root), 'register.js');
  const dir = mkdtempSync(join(tmpdir(), 'breakerbox-bench-'));
  const monitoring = (port: number): string =>
    `  monitoring:\n    enabled: true\n    port: ${port}\n    host: 127.0.0.1\n    log_level: warn\n`;
  const configs: Record<Arm, string | null> = { bare: null, env: join(dir, 'env.yaml'), guarded: join(dir, 'guarded.yaml') };
  // The environment arm loads and starts everything, but leaves pg's query unpatched (a file
  // that does not name the database breaker would get the built-in one, which guards query).
  writeFileSync(configs.env!, `circuit_breakers:\n  database:\n    operations: [connect]\n${monitoring(19465)}`);
  writeFileSync(configs.guarded!, `circuit_breakers:\n  database:\n    failure_threshold: 3\n    timeout: 30\n${monitoring(19466)}`);
  const pin = hasTaskset();
  const run = (arm: Arm): { qps: number; cpuUsPerQuery: number } => {
    const config = configs[arm];
    const nodeArgs = [...(config ? ['--require', register] : []), client];
    const cmd = pin ? 'taskset' : process.execPath;
    const args = pin ? ['-c', '1', process.execPath, ...nodeArgs] : nodeArgs;
    const env = { ...process.env, BENCH_PG_SECONDS: String(seconds), ...(config ? { BREAKERBOX_CONFIG: config } : {}) };
    const out = spawnSync(cmd, args, { env, encoding: 'utf8' });
    if (out.status !== 0) throw new Error(`pg throughput run failed: ${out.stderr}`);
    return JSON.parse(out.stdout.trim().split('\n').pop() as string) as { qps: number; cpuUsPerQuery: number };
  };
  try {
    run('bare');
  } catch (err) {
    return `skipped: ${(err as Error).message.split('\n')[0]}`;
  }
  const arms: Arm[] = ['bare', 'env', 'guarded'];
  const qps: Record<Arm, number[]> = { bare: [], env: [], guarded: [] };
  const cpu: Record<Arm, number[]> = { bare: [], env: [], guarded: [] };
  for (let i = 0; i < runs; i++) {
    // Rotate the order each round so drift does not favour one arm.
    for (let k = 0; k < arms.length; k++) {
      const arm = arms[(i + k) % arms.length];
      const r = run(arm);
      qps[arm].push(r.qps);
      cpu[arm].push(r.cpuUsPerQuery);
    }
  }
  const perRound = (f: (i: number) => number): number[] => qps.bare.map((_, i) => f(i));
  return {
    bare: median(qps.bare),
    instrumented: median(qps.guarded),
    ratio: spread(perRound((i) => qps.guarded[i] / qps.bare[i])),
    envRatio: spread(perRound((i) => qps.env[i] / qps.bare[i])),
    cpuBare: median(cpu.bare),
    cpuEnv: median(cpu.env),
    cpuInstrumented: median(cpu.guarded),
    cpuDiff: spread(perRound((i) => cpu.guarded[i] - cpu.bare[i])),
    runs,
  };
}

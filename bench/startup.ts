/**
 * Start-up cost against bare `node` on a script that does nothing: `require('breakerbox')`
 * with one CircuitBreaker, the preload with its default pipeline (Prometheus), and the
 * preload with OTEL_SDK_DISABLED=true, plus importing cockatiel as an anchor. Cases run in
 * rotating order within each round, and each case is compared with the bare run of its own
 * round: the median of those differences, wall time, CPU time and peak RSS (/usr/bin/time).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { distDir, spread, type Spread } from './stats';

export interface StartupRow {
  name: string;
  wallMs: Spread;
  /** User + system CPU: less moved than wall time by other processes on a shared machine. */
  cpuMs: Spread;
  rssMiB: Spread;
}

interface Case {
  name: string;
  args: string[];
  env?: Record<string, string>;
}

const TIME = '/usr/bin/time';

interface Run {
  wallMs: number;
  cpuMs: number;
  rssMiB: number;
}

function runOnce(c: Case, dir: string): Run {
  const out = join(dir, 'time.txt');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(TIME, ['-o', out, '-f', '%M %U %S', process.execPath, ...c.args], {
    env: { ...process.env, ...c.env },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c.name} failed: ${r.stderr}`);
  const [kib, user, sys] = (readFileSync(out, 'utf8').trim().split('\n').pop() as string).split(' ').map(Number);
  return { wallMs, cpuMs: (user + sys) * 1000, rssMiB: kib / 1024 };
}

export function startup(rounds = 20): StartupRow[] | string {
  if (!existsSync(TIME)) return `skipped: ${TIME} is not installed (it reports peak RSS)`;
  const root = resolve(__dirname, '..', '..');
  const dir = mkdtempSync(join(tmpdir(), 'breakerbox-startup-'));
  const empty = join(dir, 'empty.js');
  writeFileSync(empty, '');
  const cockatiel = join(dir, 'cockatiel.js');
  writeFileSync(cockatiel, `require(${JSON.stringify(require.resolve('cockatiel'))});\n`);
  const config = join(dir, 'breakerbox.yaml');
  // A port of its own (the run ends before anything connects): monitoring is on, as by default.
  writeFileSync(config, 'circuit_breakers:\n  monitoring:\n    port: 19467\n    host: 127.0.0.1\n    log_level: warn\n');
  const env = { BREAKERBOX_CONFIG: config };
  const bare: Case = { name: 'bare node', args: [empty] };
  const buildCases = (dist: string, label: string, tag: string): Case[] => {
    const lib = join(dir, `library${tag}.js`);
    writeFileSync(
      lib,
      `const { CircuitBreaker } = require(${JSON.stringify(join(dist, 'index.js'))});\nnew CircuitBreaker({ name: 'startup' });\n`,
    );
    const register = join(dist, 'register.js');
    return [
      { name: `require('breakerbox') + a CircuitBreaker${label}`, args: [lib] },
      { name: `--require breakerbox/register (Prometheus)${label}`, args: ['--require', register, empty], env },
      {
        name: `--require breakerbox/register, OTEL_SDK_DISABLED=true${label}`,
        args: ['--require', register, empty],
        env: { ...env, OTEL_SDK_DISABLED: 'true' },
      },
    ];
  };
  // BENCH_STARTUP_COMPARE names another build (e.g. a copy of dist/ before a change, kept
  // inside the checkout so it resolves the same node_modules): its cases run in the same
  // rounds, so before and after are compared under the same machine load.
  const compare = process.env.BENCH_STARTUP_COMPARE;
  const cases: Case[] = [
    ...buildCases(distDir(root), '', ''),
    ...(compare ? buildCases(resolve(compare), ` [${compare}]`, '-compare') : []),
    { name: "anchor: require('cockatiel')", args: [cockatiel] },
  ];
  const all = [bare, ...cases];
  for (const c of all) runOnce(c, dir); // warm-up: file cache
  const diffs = cases.map(() => ({ wall: [] as number[], cpu: [] as number[], rss: [] as number[] }));
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so no case always runs right after another.
    const order = all.map((_, i) => all[(i + r) % all.length]);
    const results = new Map(order.map((c) => [c, runOnce(c, dir)]));
    const base = results.get(bare)!;
    cases.forEach((c, i) => {
      const m = results.get(c)!;
      diffs[i].wall.push(m.wallMs - base.wallMs);
      diffs[i].cpu.push(m.cpuMs - base.cpuMs);
      diffs[i].rss.push(m.rssMiB - base.rssMiB);
    });
  }
  return cases.map((c, i) => ({ name: c.name, wallMs: spread(diffs[i].wall), cpuMs: spread(diffs[i].cpu), rssMiB: spread(diffs[i].rss) }));
}

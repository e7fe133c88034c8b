/**
 * `npm run bench:baseline`: what `failure_rate: auto` does on real traffic, beside fixed
 * thresholds of 50 % and 3 %.
 *
 * Real pg against Postgres (the shared one on 127.0.0.1:5432, or PGPORT) through our TCP fault
 * proxy, which resets the connection under a planned share of the queries: 5 % for 20,000
 * queries (steady counted failures), then 40 %. The plan is drawn from a seeded generator, so
 * every configuration meets the same failures at the same query index. Each breaker has
 * `window_size: 100` and `operations: [query]` (reconnects after a reset are not counted) and
 * a 20 ms timeout, so after an opening the run waits out the timeout and goes on with the plan.
 * Reported per configuration: openings during the 5 % phase (false opens), the first one's
 * query index, and the queries it took to open after the jump. A second table replays the same
 * kind of plan with many seeds on the pure breaker (a hand-moved clock, no I/O), since one real
 * run is one sample. Each configuration runs in a process of its own (pg is patched once per
 * process, as in an app), the three side by side. Prints tables, asserts nothing.
 *
 * `benchBaseline()` is exported for other benchmarks (e.g. the overload scenario).
 */
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CircuitBreaker } from '../src/core';
import { plannedFaultCalls } from '../test/helpers/pg-planned-faults';
import { startTcpFaultProxy } from '../test/helpers/tcp-fault-proxy';
import { instrumentPg, SHARED_PG } from '../test/integration/pg-harness';
import { seededRandom } from './lib/seeded-random';

export interface BaselineBenchOptions {
  /** Queries at the steady rate. Default 20,000. */
  steadyCalls?: number;
  steadyRate?: number;
  /** Most queries at the jumped rate before giving up on an opening. Default 500. */
  jumpCalls?: number;
  jumpRate?: number;
  seed?: number;
  /** Postgres to reach through the proxy. Default the shared server. */
  pg?: { host?: string; port: number; user?: string; database?: string };
}

export interface BaselineRow {
  config: string;
  /** Openings from closed during the steady phase. */
  falseOpens: number;
  /** 1-based query index of the first false open, or null. */
  firstFalseOpenAt: number | null;
  /** Queries into the jumped phase when it opened, or null if it did not within `jumpCalls`. */
  callsToOpen: number | null;
  /** The learnt baseline and threshold when the jump began (auto only). */
  baselineAtJump: number | null;
  thresholdAtJump: number;
  /** Share of the steady phase's queries that failed, as the breaker counted them. */
  steadyFailureRate: number;
  seconds: number;
}

const CONFIGS: { name: string; failureRate: string }[] = [
  { name: 'failure_rate: auto', failureRate: 'auto' },
  { name: 'failure_rate: 0.5', failureRate: '0.5' },
  { name: 'failure_rate: 0.03', failureRate: '0.03' },
];

function yamlFor(failureRate: string): string {
  return `
circuit_breakers:
  database:
    failure_threshold: 0
    failure_rate: ${failureRate}
    window_size: 100
    timeout: 20ms
    operations: [query]
`;
}

function plan(o: Required<Omit<BaselineBenchOptions, 'pg'>>): boolean[] {
  const next = seededRandom(o.seed);
  const out: boolean[] = [];
  for (let i = 0; i < o.steadyCalls; i++) out.push(next() < o.steadyRate);
  for (let i = 0; i < o.jumpCalls; i++) out.push(next() < o.jumpRate);
  return out;
}

function withDefaults(options: BaselineBenchOptions): Required<Omit<BaselineBenchOptions, 'pg'>> {
  return {
    steadyCalls: options.steadyCalls ?? 20_000,
    steadyRate: options.steadyRate ?? 0.05,
    jumpCalls: options.jumpCalls ?? 200,
    jumpRate: options.jumpRate ?? 0.4,
    seed: options.seed ?? 14,
  };
}

/** The real run: one pass over the same plan per configuration, each in a child process. */
export async function benchBaseline(options: BaselineBenchOptions = {}): Promise<BaselineRow[]> {
  return Promise.all(CONFIGS.map((config) => inChild(config, options)));
}

function inChild(config: (typeof CONFIGS)[number], options: BaselineBenchOptions): Promise<BaselineRow> {
  const args = ['--require', require.resolve('tsx/cjs'), __filename, CHILD_FLAG, config.name, JSON.stringify(options)];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${config.name}: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as BaselineRow);
    });
  });
}

const CHILD_FLAG = '--bench-baseline-child';

async function runOne(config: (typeof CONFIGS)[number], options: BaselineBenchOptions): Promise<BaselineRow> {
  const o = withDefaults(options);
  const faults = plan(o);
  const target = { ...SHARED_PG, ...options.pg };
  const proxy = await startTcpFaultProxy({ targetHost: target.host, targetPort: target.port });
  try {
    {
      const h = instrumentPg(yamlFor(config.failureRate));
      const calls = await plannedFaultCalls(h.pg, proxy, target);
      const breaker = h.entry().breaker;
      let index = 0;
      let opens = 0;
      breaker.on('stateChange', (e) => {
        if (e.from === 'closed' && e.to === 'open') opens++;
      });
      const row: BaselineRow = {
        config: config.name,
        falseOpens: 0,
        firstFalseOpenAt: null,
        callsToOpen: null,
        baselineAtJump: null,
        thresholdAtJump: 0,
        steadyFailureRate: 0,
        seconds: 0,
      };
      const started = performance.now();
      let failed = 0;
      try {
        for (; index < faults.length; index++) {
          if (index === o.steadyCalls) {
            row.falseOpens = opens;
            row.steadyFailureRate = failed / o.steadyCalls;
            row.baselineAtJump = breaker.baselineFailureRate;
            row.thresholdAtJump = breaker.failureRateThreshold;
          }
          // Wait out the timeout rather than have queries refused: the plan goes on at this index.
          if (breaker.state === 'open') await sleep(Math.max(0, (breaker.retryAt ?? 0) - breaker.now()) + 1);
          const before = opens;
          const outcome = await calls.call(faults[index]);
          if (outcome === 'failed') failed++;
          if (opens > before && index < o.steadyCalls) row.firstFalseOpenAt ??= index + 1;
          if (index >= o.steadyCalls && (opens > before || (breaker.state === 'open' && outcome === 'failed'))) {
            row.callsToOpen = index - o.steadyCalls + 1;
            break;
          }
        }
      } finally {
        row.seconds = (performance.now() - started) / 1000;
        await calls.end();
        h.instrumentation.disable();
      }
      return row;
    }
  } finally {
    await proxy.close();
  }
}

export interface ReplayRow {
  config: string;
  runs: number;
  /** Share of runs with at least one false open in the steady phase. */
  runsWithFalseOpen: number;
  callsToOpenP50: number;
  callsToOpenP95: number;
  /** Share of runs that took more than 50 calls (or never opened). */
  over50: number;
}

/** The same kind of plan over many seeds on the pure breaker: how often, not whether once. */
export async function replayBaseline(runs = 200, options: BaselineBenchOptions = {}): Promise<ReplayRow[]> {
  const rows: ReplayRow[] = [];
  for (const config of CONFIGS) {
    let withFalseOpen = 0;
    const toOpen: number[] = [];
    for (let r = 0; r < runs; r++) {
      const o = withDefaults({ ...options, seed: 1000 + r });
      const faults = plan(o);
      let t = 1_000_000;
      const b = new CircuitBreaker({
        name: 'replay',
        failureThreshold: 0,
        failureRate: config.failureRate === 'auto' ? 'auto' : Number(config.failureRate),
        windowSize: 100,
        resetTimeoutMs: 20,
        now: () => t,
      });
      let falseOpen = false;
      let opened = Infinity;
      for (let i = 0; i < faults.length; i++) {
        t += 1;
        if (b.state === 'open') t += 20;
        const fail = faults[i];
        try {
          b.executeSync(() => {
            if (fail) throw new Error('reset');
          });
        } catch {
          // a planned failure, or a refusal
        }
        if (b.state === 'open') {
          if (i < o.steadyCalls) falseOpen = true;
          else {
            opened = i - o.steadyCalls + 1;
            break;
          }
        }
      }
      if (falseOpen) withFalseOpen++;
      toOpen.push(opened);
    }
    toOpen.sort((a, b) => a - b);
    rows.push({
      config: config.name,
      runs,
      runsWithFalseOpen: withFalseOpen / runs,
      callsToOpenP50: toOpen[Math.floor(runs * 0.5)],
      callsToOpenP95: toOpen[Math.floor(runs * 0.95)],
      over50: toOpen.filter((n) => n > 50).length / runs,
    });
  }
  return rows;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

export function baselineTable(rows: BaselineRow[]): string {
  return table(
    ['configuration', 'steady failures', 'false opens', 'first at', 'baseline', 'threshold at jump', 'calls to open', 'seconds'],
    rows.map((r) => [
      r.config,
      pct(r.steadyFailureRate),
      String(r.falseOpens),
      r.firstFalseOpenAt === null ? '-' : `#${r.firstFalseOpenAt}`,
      r.baselineAtJump === null ? '-' : pct(r.baselineAtJump),
      pct(r.thresholdAtJump),
      r.callsToOpen === null ? 'did not open' : String(r.callsToOpen),
      r.seconds.toFixed(1),
    ]),
  );
}

export function replayTable(rows: ReplayRow[]): string {
  return table(
    ['configuration', 'runs', 'runs with a false open', 'calls to open p50', 'p95', '> 50 calls'],
    rows.map((r) => [
      r.config,
      String(r.runs),
      pct(r.runsWithFalseOpen),
      r.callsToOpenP50 === Infinity ? 'never' : String(r.callsToOpenP50),
      r.callsToOpenP95 === Infinity ? 'never' : String(r.callsToOpenP95),
      pct(r.over50),
    ]),
  );
}

const REPLAY_RUNS = 200;

async function main(): Promise<void> {
  const port = process.env.PGPORT === undefined ? undefined : Number(process.env.PGPORT);
  const o = withDefaults({});
  console.log(
    `Real pg through the fault proxy: ${o.steadyCalls} queries at ${pct(o.steadyRate)} reset, then up to ${o.jumpCalls} at ${pct(o.jumpRate)} (seed ${o.seed}); window_size 100\n`,
  );
  const real = benchBaseline(port === undefined ? {} : { pg: { port } });
  // The replay is CPU work of this process, done while the children wait on Postgres.
  const replay = await replayBaseline(REPLAY_RUNS);
  console.log(baselineTable(await real));
  console.log(`\nThe same kind of plan over ${REPLAY_RUNS} seeds, pure breaker (hand-moved clock, no I/O):\n`);
  console.log(replayTable(replay));
}

if (require.main === module) {
  const child = process.argv.indexOf(CHILD_FLAG);
  const run =
    child < 0
      ? main()
      : runOne(
          CONFIGS.find((c) => c.name === process.argv[child + 1])!,
          JSON.parse(process.argv[child + 2]) as BaselineBenchOptions,
        ).then((row) => console.log(JSON.stringify(row)));
  run.catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}

/**
 * `npm run bench:overload`: what a concurrency limit does for a service whose database gets
 * slow, with real processes and a real cause (issue 14, "Measured"). Prints numbers, asserts nothing.
 *
 *   npm run bench:overload                          (all variants, about 4 minutes)
 *   npm run bench:overload -- none,fixed,adaptive   (a subset: none, fixed, adaptive, vegas, aimd)
 *   npm run bench:overload -- calibrate            (only the capacity measurements)
 *
 * Needs Linux with 2+ CPUs, root (or CAP_SYS_NICE) for `chrt -f`, taskset, timeout, and the
 * Postgres server binaries. What it does:
 * 1. Pins itself (and so every child) to CPU 0, starts a private Postgres (its own temp dir,
 *    a free port) and pins the postmaster and all its processes to CPU 1: the database has
 *    CPU 1, the service CPU 0. Other processes on the machine are not pinned away, but
 *    ours run at nice NICE so that other normal-priority work takes less from them.
 * 2. Calibrates: the rows of `SELECT sum(g) FROM generate_series(1, rows) g` that take about
 *    TARGET_QUERY_MS alone; the healthy capacity (closed loop through the service at
 *    concurrency 1, 2, 4 and POOL_MAX: the best throughput).
 * 3. Slows the database by a real cause: a SCHED_FIFO hog on CPU 1, busy HOG_BUSY_MS of every
 *    HOG_PERIOD_MS, so Postgres keeps the rest of that CPU however many backends it runs (a
 *    normal-priority hog does not: Postgres wins the CPU back as its backends multiply).
 *    Measures the slowed database alone: one query at a time (its service time) and a closed
 *    loop at 1, 2, 4 and POOL_MAX (what it serves at its best concurrency); again right after
 *    each variant, whose figures are compared with that nearest measurement.
 * 4. Per variant (one after another, each in a fresh service with the same schedule): the
 *    service under `--require dist/register.js` with a pg.Pool of POOL_MAX offers
 *    LOAD_SHARE of the healthy capacity as a constant arrival rate (open loop): WARMUP_MS
 *    (not reported: JIT, the pool, an adaptive limit's first moves), BEFORE_MS, then the hog
 *    runs for SLOWED_MS, then AFTER_MS more.
 * 5. Prints, per variant and phase: offered rate, goodput, p50/p99 of admitted calls, p99 over
 *    the slowed service time, shed calls, the pool's wait queue, calls in flight, the limit,
 *    and when the last call was shed after the cause ended; then a timeline per variant.
 *
 * The hog is killed when a run ends, on errors, on Ctrl-C, and in any case by its own time
 * limit (scripts/lib/rt-hog.ts); the private Postgres and temp files are removed on exit.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { distDir, median } from '../bench/stats';
import { startPrivatePostgres, type PrivatePostgres } from '../test/helpers/private-postgres';
import { affinityOf, canPin, pinProcess, pinProcessTree, reniceProcessTree } from './lib/cpu-placement';
import { runService, type ServiceRun } from './lib/overload-service';
import { closedLevels, lastShedAfter, phaseStats, type PhaseStats } from './lib/overload-stats';
import { canRunRtHog, rtThrottle, startRtHog, type RtHog } from './lib/rt-hog';
import { textTable } from './lib/text-table';

const ROOT = path.join(__dirname, '..');
const SERVICE_CPU = 0;
const PG_CPU = 1;
/** Nice value of Postgres, this harness and the service: ahead of other normal-priority work, behind the hog. */
const NICE = -10;
const POOL_MAX = 10;
const TARGET_QUERY_MS = 3;
const LOAD_SHARE = 0.6;
const HOG_BUSY_MS = 2;
const HOG_PERIOD_MS = 3;
const WARMUP_MS = 3_000;
const BEFORE_MS = 8_000;
const SLOWED_MS = 25_000;
const AFTER_MS = 15_000;
const LEVELS = [1, 2, 4, POOL_MAX];
/** The slowed phase is also reported from this long after its start. */
const SETTLE_MS = 5_000;
/** Width of the timeline's windows. */
const TIMELINE_MS = 2_500;
const LEVEL_MS = 2_000;

type Variant = 'none' | 'fixed' | 'adaptive' | 'vegas' | 'aimd';
const VARIANTS: Variant[] = ['none', 'fixed', 'adaptive', 'vegas', 'aimd'];

function concurrencyYaml(v: Variant): string {
  switch (v) {
    case 'none':
      return '';
    case 'fixed':
      return `    concurrency:\n      limit: ${POOL_MAX}\n`;
    case 'adaptive':
      return `    concurrency:\n      limit: adaptive\n      algorithm: gradient2\n      min: 2\n      max: 100\n`;
    default:
      return `    concurrency:\n      limit: adaptive\n      algorithm: ${v}\n      min: 2\n      max: 100\n`;
  }
}

function describeVariant(v: Variant): string {
  if (v === 'none') return 'no limit';
  if (v === 'fixed') return `fixed bulkhead, limit ${POOL_MAX} (the pool size)`;
  return `adaptive, ${v === 'adaptive' ? 'gradient2' : v}, min 2, max 100`;
}

function writeConfig(dir: string, v: Variant): string {
  const file = path.join(dir, `breakerbox-${v}.yaml`);
  fs.writeFileSync(
    file,
    `circuit_breakers:\n  database:\n    failure_threshold: 3\n    timeout: 30\n${concurrencyYaml(v)}  monitoring:\n    enabled: false\n    log_level: error\n`,
  );
  return file;
}

/**
 * Rows of the generate_series sum that keep a backend busy about TARGET_QUERY_MS on the healthy
 * database, by the server's own execution time (EXPLAIN ANALYZE): a client-side timing would
 * count the round trip and this machine's scheduling noise, and settle on a query too cheap
 * for the database to be the bottleneck.
 */
async function calibrateRows(db: PrivatePostgres): Promise<{ rows: number; ms: number }> {
  const client = new pg.Client(db.clientConfig());
  await client.connect();
  try {
    const time = async (rows: number): Promise<number> => {
      const ms: number[] = [];
      for (let i = 0; i < 25; i++) {
        const r = await client.query(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) SELECT sum(g) FROM generate_series(1, ${rows}) g`);
        ms.push((r.rows[0] as { 'QUERY PLAN': { 'Execution Time': number }[] })['QUERY PLAN'][0]['Execution Time']);
      }
      return median(ms.slice(5));
    };
    let rows = 20_000;
    for (let i = 0; i < 3; i++) rows = Math.max(1000, Math.round((rows * TARGET_QUERY_MS) / (await time(rows))));
    return { rows, ms: await time(rows) };
  } finally {
    await client.end();
  }
}

interface Closed {
  best: { concurrency: number; throughput: number };
  levels: ReturnType<typeof closedLevels>;
}

function closedSummary(run: ServiceRun): Closed {
  const levels = closedLevels(run.calls, run.levels);
  const best = levels.reduce((a, b) => (b.throughput > a.throughput ? b : a));
  return { best: { concurrency: best.concurrency, throughput: best.throughput }, levels };
}

function printClosed(title: string, c: Closed): void {
  const rows = c.levels.map((l) => [String(l.concurrency), l.throughput.toFixed(0), l.p50.toFixed(2), l.mean.toFixed(2), l.p99.toFixed(2)]);
  process.stdout.write(`\n${title}\n${textTable(['concurrency', 'calls/s', 'p50 ms', 'mean ms', 'p99 ms'], rows)}\n`);
}

interface VariantResult {
  variant: Variant;
  /** The slowed database alone, measured right after this variant's run (the machine's load drifts). */
  alone: Closed;
  phases: { name: string; s: PhaseStats }[];
  lastShed: number | null;
  timeline: { from: number; s: PhaseStats }[];
}

async function runVariant(
  v: Variant,
  dir: string,
  dist: string,
  pgEnv: Record<string, string>,
  rows: number,
  rate: number,
  hogs: Set<RtHog>,
  slowedAlone: () => Promise<Closed>,
): Promise<VariantResult> {
  let hogStart = NaN;
  let hogEnd = NaN;
  const run = await runService({
    dist,
    configFile: writeConfig(dir, v),
    pgEnv,
    poolMax: POOL_MAX,
    queryRows: rows,
    mode: { kind: 'open', rate, durationMs: WARMUP_MS + BEFORE_MS + SLOWED_MS + AFTER_MS },
    during: async (t0) => {
      await sleep(Math.max(0, t0 + WARMUP_MS + BEFORE_MS - Date.now()));
      // The cause begins when the hog starts: node's own start-up already runs at real-time priority.
      hogStart = Date.now();
      const hog = await startHog();
      hogs.add(hog);
      try {
        await sleep(SLOWED_MS);
      } finally {
        await hog.stop();
        hogs.delete(hog);
        hogEnd = Date.now();
      }
    },
  });
  const alone = await slowedAlone();
  const schedule = { t0: run.startedAt, everyMs: 1000 / rate, count: run.scheduled };
  const from = run.startedAt + WARMUP_MS;
  const end = from + BEFORE_MS + SLOWED_MS + AFTER_MS;
  const phase = (name: string, from: number, to: number) => ({
    name,
    s: phaseStats(run.calls, run.samples, schedule, from, to, run.endedAt),
  });
  return {
    variant: v,
    alone,
    phases: [
      phase('before', from, hogStart),
      phase('slowed', hogStart, hogEnd),
      // The same without the limit's first moves: what it holds once it has adapted.
      phase(`slowed from ${SETTLE_MS / 1000} s`, hogStart + SETTLE_MS, hogEnd),
      phase('after', hogEnd, end),
    ],
    lastShed: lastShedAfter(run.calls, hogEnd),
    // Windows aligned on the cause's start and end, so each holds one phase only.
    timeline: [
      ...windows(from, hogStart, TIMELINE_MS, -1),
      ...windows(hogStart, hogEnd, TIMELINE_MS, 1),
      ...windows(hogEnd, end, TIMELINE_MS, 1),
    ].map(([a, b]) => ({ from: (a - hogEnd) / 1000, s: phaseStats(run.calls, run.samples, schedule, a, b, run.endedAt) })),
  };
}

/** [from, to) cut into windows of `ms`, the short remainder at the start (direction -1) or end (1). */
function windows(from: number, to: number, ms: number, direction: -1 | 1): [number, number][] {
  const out: [number, number][] = [];
  if (direction === 1) for (let a = from; a < to; a += ms) out.push([a, Math.min(to, a + ms)]);
  else for (let b = to; b > from; b -= ms) out.unshift([Math.max(from, b - ms), b]);
  // A remainder under a fifth of a window (e.g. the time the hog took to stop) joins its neighbour.
  if (out.length > 1 && direction === 1 && out[out.length - 1][1] - out[out.length - 1][0] < ms / 5) out[out.length - 2][1] = out.pop()![1];
  if (out.length > 1 && direction === -1 && out[0][1] - out[0][0] < ms / 5) out[1][0] = out.shift()![0];
  return out;
}

function startHog(seconds = SLOWED_MS / 1000): Promise<RtHog> {
  return startRtHog({ cpu: PG_CPU, busyMs: HOG_BUSY_MS, periodMs: HOG_PERIOD_MS, maxSeconds: Math.ceil(seconds) + 5 });
}

function printVariants(results: VariantResult[]): void {
  const f = (x: number, d = 0): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const rows: string[][] = [];
  for (const r of results) {
    const slowedServiceMs = r.alone.levels[0].p50;
    const slowedAlone = r.alone.best.throughput;
    for (const { name, s } of r.phases) {
      rows.push([
        `${r.variant} / ${name}`,
        f(s.offered),
        f(s.goodput),
        name.startsWith('slowed') ? `${f((100 * s.goodput) / slowedAlone)}% of ${f(slowedAlone)}` : '',
        f(s.p50, 1),
        `${s.p99LowerBound ? '>=' : ''}${f(s.p99, 1)}`,
        `${f(s.p99 / slowedServiceMs, 1)} of ${f(slowedServiceMs, 1)}`,
        String(s.shed),
        String(s.rejected + s.failed),
        String(s.unfinished),
        String(s.maxWaiting),
        String(s.maxInflight),
        s.limit ? `${s.limit.min}..${s.limit.max}` : '',
        f(s.maxLag, 1),
      ]);
    }
  }
  process.stdout.write(
    '\n' +
      textTable(
        [
          'variant / phase',
          'offered/s',
          'goodput/s',
          'of alone',
          'p50 ms',
          'p99 ms',
          'p99/svc ms',
          'shed',
          'other err',
          'unfinished',
          'max wait q',
          'max inflight',
          'limit',
          'max lag ms',
        ],
        rows,
      ) +
      '\n',
  );
  process.stdout.write(
    `\np99/svc: p99 of admitted calls over the slowed database's service time (p50 of one query alone on it);` +
      `\nof alone: goodput while slowed as a share of what the slowed database serves alone (closed loop, its best concurrency);` +
      `\nboth references are measured right after each variant's run, with the hog on again, no limit.` +
      `\nmax wait q: pool.waitingCount, max inflight: calls started and not finished, limit: the breaker's concurrency limit (all sampled every 20 ms);` +
      `\nother err: admitted calls that failed plus calls refused by an open breaker; unfinished: still running when the service stopped (then p99 is a lower bound);` +
      `\nmax lag: how late the service's own event loop started a call behind its schedule.\n`,
  );
  for (const r of results) {
    const rows = r.timeline.map(({ from, s }) => [
      from.toFixed(1),
      f(s.goodput),
      f(s.p99, 1),
      String(s.shed),
      String(s.maxWaiting),
      String(s.maxInflight),
      s.limit ? `${s.limit.min}..${s.limit.max}` : '',
    ]);
    process.stdout.write(
      `\n${r.variant}, every ${TIMELINE_MS / 1000} s (t: window start, s after the cause ended; the cause ran from ${(-SLOWED_MS / 1000).toFixed(1)} to 0)\n` +
        textTable(['t', 'goodput/s', 'p99 ms', 'shed', 'max wait q', 'max inflight', 'limit'], rows) +
        '\n',
    );
  }
  process.stdout.write('\n');
  for (const r of results) {
    const last = r.lastShed === null ? 'no call shed' : `last shed call at t = ${r.lastShed.toFixed(2)} s after the cause ended`;
    process.stdout.write(`${r.variant}: ${last}\n`);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const arg = process.argv[2] ?? 'none,fixed,adaptive';
  const wanted = (arg === 'calibrate' ? [] : arg.split(',')) as Variant[];
  for (const v of wanted)
    if (!VARIANTS.includes(v)) throw new Error(`unknown variant "${v}": expected a comma-separated list of ${VARIANTS.join(', ')}`);
  const dist = distDir(ROOT);
  if (!fs.existsSync(path.join(dist, 'register.js'))) throw new Error(`${dist}/register.js is missing: npm run build first`);
  if (os.cpus().length < 2) throw new Error('needs 2 CPUs: one for Postgres, one for the service');
  if (!canPin()) throw new Error('taskset cannot set CPU affinity here');
  if (!canRunRtHog()) throw new Error('cannot start a SCHED_FIFO process (chrt -f): run as root or with CAP_SYS_NICE');

  const hogs = new Set<RtHog>();
  // Exit hooks (rt-hog, private Postgres, child processes) clean up; a signal must reach them.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => process.exit(130));

  pinProcess(process.pid, SERVICE_CPU);
  // The service (our child) inherits this; the machine is shared, and at normal priority
  // other processes' bursts would move our numbers more than the variants do.
  os.setPriority(process.pid, NICE);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-bench-overload-'));
  // A signal ends the process without running the finally below.
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const db = await startPrivatePostgres({
    maxConnections: 40,
    // One backend per query, no JIT, sorts and series in memory: each query is plain CPU work.
    settings: { jit: false, max_parallel_workers_per_gather: 0, work_mem: '32MB', shared_buffers: '32MB' },
  });
  try {
    const pinned = pinProcessTree(db.postmasterPid()!, PG_CPU);
    reniceProcessTree(db.postmasterPid()!, NICE);
    process.stdout.write(
      `overload benchmark: Postgres (${pinned.length} processes, postmaster ${db.postmasterPid()}) pinned to CPU ${affinityOf(db.postmasterPid()!)}, ` +
        `this harness and the service to CPU ${affinityOf(process.pid)}, all at nice ${NICE}; ${rtThrottle()}; load average ${os
          .loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}\n`,
    );
    const pgEnv = { PGHOST: db.host, PGPORT: String(db.port), PGUSER: db.user, PGDATABASE: db.database };
    const { rows, ms } = await calibrateRows(db);
    process.stdout.write(
      `query: SELECT sum(g) FROM generate_series(1, ${rows}) g, ${ms.toFixed(2)} ms of execution alone (the server's, median, healthy)\n`,
    );

    const closed = (configFile: string) =>
      runService({
        dist,
        configFile,
        pgEnv,
        poolMax: POOL_MAX,
        queryRows: rows,
        mode: { kind: 'closed', levels: LEVELS, levelMs: LEVEL_MS },
      });
    const noLimit = writeConfig(dir, 'none');
    const healthy = closedSummary(await closed(noLimit));
    printClosed('healthy database, closed loop through the service (no limit)', healthy);

    const slowedAlone = async (): Promise<Closed> => {
      const hog = await startHog((LEVELS.length * LEVEL_MS) / 1000 + 10);
      hogs.add(hog);
      try {
        return closedSummary(await closed(noLimit));
      } finally {
        await hog.stop();
        hogs.delete(hog);
      }
    };
    const slowed = await slowedAlone();
    printClosed(
      `slowed database (SCHED_FIFO hog on CPU ${PG_CPU}: busy ${HOG_BUSY_MS} ms of every ${HOG_PERIOD_MS} ms), closed loop`,
      slowed,
    );
    const slowedServiceMs = slowed.levels[0].p50;
    const rate = Math.round(LOAD_SHARE * healthy.best.throughput);
    process.stdout.write(
      `\nhealthy capacity ${healthy.best.throughput.toFixed(0)}/s (at concurrency ${healthy.best.concurrency}); ` +
        `slowed: ${slowed.best.throughput.toFixed(0)}/s (at ${slowed.best.concurrency}), ${((100 * slowed.best.throughput) / healthy.best.throughput).toFixed(0)}% of healthy; ` +
        `slowed service time ${slowedServiceMs.toFixed(2)} ms (p50 alone; mean ${slowed.levels[0].mean.toFixed(2)}, p99 ${slowed.levels[0].p99.toFixed(2)})\n` +
        `offered: ${rate}/s (${LOAD_SHARE * 100}% of healthy capacity), ${BEFORE_MS / 1000} s before, ${SLOWED_MS / 1000} s slowed, ${AFTER_MS / 1000} s after; ` +
        `pool max ${POOL_MAX}; variants one after another, each in a fresh service process\n`,
    );

    const results: VariantResult[] = [];
    for (const v of wanted) {
      process.stdout.write(`running: ${describeVariant(v)}\n`);
      results.push(await runVariant(v, dir, dist, pgEnv, rows, rate, hogs, slowedAlone));
      const a = results[results.length - 1].alone;
      process.stdout.write(
        `  then the slowed database alone: ${a.best.throughput.toFixed(0)}/s at concurrency ${a.best.concurrency}, service time ${a.levels[0].p50.toFixed(2)} ms\n`,
      );
    }
    if (results.length) printVariants(results);
    process.stdout.write(
      `\nload average at the end ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}; total ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
    );
  } finally {
    for (const h of hogs) await h.stop();
    await db.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

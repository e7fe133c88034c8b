/**
 * `npm run bench`: the cost of a breaker in one process, interleaved rounds, median ns per call.
 * Compares the bare call, breakerbox, opossum and cockatiel, closed and open, and the heap
 * each keeps per breaker. Numbers are ratios on this machine, not absolute truths.
 */
import CircuitBreakerOpossum from 'opossum';
import { ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { CircuitBreaker } from '../src/core';
import { BreakerRegistry, CallStats } from '../src/registry';
import { startTelemetry } from '../src/telemetry';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { formatNs, heapPerObject, measure, type Candidate } from './measure';
import { otelCandidates } from './otel';
import { pgPatchCost } from './pg-patch-cost';
import { pgThroughput } from './pg-throughput';
import { formatSpread } from './stats';
import { startup } from './startup';
import { concurrencyBench, concurrencyRows } from './concurrency';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const PER_ROUND = Number(process.env.BENCH_ITERATIONS ?? 100_000);

const one = async (): Promise<number> => 1;

function loop(call: () => Promise<unknown>): (n: number) => Promise<void> {
  return async (n) => {
    for (let i = 0; i < n; i++) await call();
  };
}

function loopRejected(call: () => Promise<unknown>): (n: number) => Promise<void> {
  return async (n) => {
    for (let i = 0; i < n; i++) {
      try {
        await call();
      } catch {
        // expected: the breaker is open
      }
    }
  };
}

function opossum(): CircuitBreakerOpossum<[], number> {
  return new CircuitBreakerOpossum(one, { timeout: false, resetTimeout: 3_600_000 });
}

function cockatiel(): ReturnType<typeof circuitBreaker> {
  return circuitBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(5) });
}

async function closedState(): Promise<Map<string, number>> {
  const bb = new CircuitBreaker({ name: 'bench' });
  // Full instrumentation: a registry breaker (counts and latency buckets) with telemetry
  // attached to a MeterProvider that has a real reader, exactly as the preload runs it.
  const registry = new BreakerRegistry();
  const meter = new MeterProvider({ readers: [new PrometheusExporter({ preventServerStart: true })] }).getMeter('breakerbox');
  startTelemetry({ registry, meter, logLevel: 'silent' });
  const bbStats = registry.get('bench-full');
  const op = opossum();
  const ck = cockatiel();
  const candidates: Candidate[] = [
    { name: 'bare async call', run: loop(() => one()) },
    { name: 'breakerbox execute', run: loop(() => bb.execute(one)) },
    { name: 'breakerbox full instrumentation', run: loop(() => bbStats.execute(one)) },
    { name: 'opossum fire', run: loop(() => op.fire()) },
    { name: 'cockatiel execute', run: loop(() => ck.execute(one)) },
    ...otelCandidates(one, loop),
  ];
  const result = await measure(candidates, ROUNDS, PER_ROUND);
  op.shutdown();
  return result;
}

async function openState(): Promise<Map<string, number>> {
  const bb = new CircuitBreaker({ name: 'bench' });
  bb.forceOpen();
  const op = opossum();
  op.open();
  const ck = cockatiel();
  const isolated = ck.isolate();
  const candidates: Candidate[] = [
    { name: 'breakerbox rejection', run: loopRejected(() => bb.execute(one)) },
    { name: 'opossum rejection', run: loopRejected(() => op.fire()) },
    { name: 'cockatiel rejection', run: loopRejected(() => ck.execute(one)) },
    { name: 'new Error() with stack', run: loopRejected(() => Promise.reject(new Error('x'))) },
  ];
  const result = await measure(candidates, ROUNDS, Math.floor(PER_ROUND / 5));
  isolated.dispose();
  op.shutdown();
  return result;
}

function memory(): [string, number][] {
  const N = 10_000;
  const opossums: CircuitBreakerOpossum[] = [];
  const rows: [string, number][] = [
    ['breakerbox, consecutive policy', heapPerObject(N, () => new CircuitBreaker({ name: 'm' }))],
    [
      'breakerbox, consecutive + call stats',
      heapPerObject(N, () => {
        const b = new CircuitBreaker({ name: 'm' });
        b.recorder = new CallStats('execute');
        return b;
      }),
    ],
    ['breakerbox, 60 s time window', heapPerObject(N, () => new CircuitBreaker({ name: 'm', failureRate: 0.5, windowMs: 60_000 }))],
    ['breakerbox, 100-call count window', heapPerObject(N, () => new CircuitBreaker({ name: 'm', failureRate: 0.5, windowSize: 100 }))],
    ['cockatiel, consecutive', heapPerObject(N, cockatiel)],
    [
      'opossum',
      heapPerObject(N, () => {
        const o = opossum();
        opossums.push(o);
        return o;
      }),
    ],
  ];
  for (const o of opossums) o.shutdown();
  return rows;
}

function table(title: string, rows: [string, string, string][]): void {
  console.log(`\n${title}`);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  for (const [a, b, c] of rows) console.log(`  ${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
}

async function main(): Promise<void> {
  console.log(`breakerbox benchmark: node ${process.version}, ${ROUNDS} interleaved rounds x ${PER_ROUND} calls, median per call`);
  const closed = await closedState();
  const bare = closed.get('bare async call')!;
  const bb = closed.get('breakerbox execute')!;
  table(
    'Closed breaker, `async () => 1`',
    [...closed].map(([name, ns]) => [
      name,
      formatNs(ns),
      name === 'bare async call'
        ? ''
        : `+${formatNs(ns - bare)} over bare, ${(ns / bare).toFixed(2)}x bare, ${(ns / bb).toFixed(2)}x breakerbox`,
    ]),
  );
  const open = await openState();
  const bbOpen = open.get('breakerbox rejection')!;
  table(
    'Open breaker, rejection',
    [...open].map(([name, ns]) => [name, formatNs(ns), `${(ns / bbOpen).toFixed(2)}x breakerbox`]),
  );
  const mem = memory();
  const bbMem = mem[0][1];
  table(
    'Heap per breaker (10,000 breakers)',
    mem.map(([name, bytes]) => [name, `${Math.round(bytes)} B`, `${(bytes / bbMem).toFixed(2)}x breakerbox`]),
  );
  if (process.env.BENCH_CONCURRENCY !== '0') await concurrencySection();
  if (process.env.BENCH_STARTUP !== '0') startupSection();
  if (process.env.BENCH_PG !== '0') pgSection();
}

async function concurrencySection(): Promise<void> {
  const rows = concurrencyRows(await concurrencyBench(ROUNDS, PER_ROUND));
  table('Concurrency limit, closed breaker, `async () => 1` (limit never reached)', rows.closed);
  table('Concurrency limit, a call over the limit vs a call to an open breaker', rows.refusal);
}

function startupSection(): void {
  const rows = startup(Number(process.env.BENCH_STARTUP_ROUNDS ?? 20));
  if (typeof rows === 'string') {
    console.log(`\nStart-up: ${rows}`);
    return;
  }
  table(
    'Start-up over bare `node` (empty script): median of per-round differences, IQR in brackets',
    rows.map((r) => [
      r.name,
      `wall +${formatSpread(r.wallMs, 0, ' ms')}`,
      `CPU +${formatSpread(r.cpuMs, 0, ' ms')}, peak RSS +${formatSpread(r.rssMiB, 1, ' MiB')}`,
    ]),
  );
}

function pgSection(): void {
  const patch = pgPatchCost(Number(process.env.BENCH_PG_PAIRS ?? 60));
  table('pg patch alone, in-process stub backend (no network, no SDK), patched minus bare per pair of 2,000-query blocks', [
    ['bare stubbed query', formatNs(patch.bareNs), ''],
    ['patch, wall', `+${formatSpread(patch.wallNs, 0, ' ns')}`, ''],
    ['patch, CPU', `+${formatSpread(patch.cpuNs, 0, ' ns')}`, ''],
  ]);
  const pg = pgThroughput(Number(process.env.BENCH_PG_RUNS ?? 20), Number(process.env.BENCH_PG_SECONDS ?? 1));
  if (typeof pg === 'string') {
    console.log(`\npg SELECT 1 throughput: ${pg}`);
    return;
  }
  table(
    `pg SELECT 1 throughput, real server, one client, sequential, taskset-pinned, ${pg.runs} rounds (ratios per round, IQR in brackets)`,
    [
      ['bare pg', `${Math.round(pg.bare)} q/s`, `client CPU ${pg.cpuBare.toFixed(1)} µs/query`],
      ['preload, pg not guarded (environment)', formatSpread(pg.envRatio, 3, 'x bare'), `client CPU ${pg.cpuEnv.toFixed(1)} µs/query`],
      [
        '--require breakerbox/register',
        formatSpread(pg.ratio, 3, 'x bare'),
        `client CPU ${pg.cpuInstrumented.toFixed(1)} µs/query, +${formatSpread(pg.cpuDiff, 1, ' µs')} per round`,
      ],
    ],
  );
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

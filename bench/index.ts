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
import { pgThroughput } from './pg-throughput';

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
    ['breakerbox, consecutive + call stats', heapPerObject(N, () => {
      const b = new CircuitBreaker({ name: 'm' });
      b.recorder = new CallStats('execute');
      return b;
    })],
    ['breakerbox, 60 s time window', heapPerObject(N, () => new CircuitBreaker({ name: 'm', failureRate: 0.5, windowMs: 60_000 }))],
    ['breakerbox, 100-call count window', heapPerObject(N, () => new CircuitBreaker({ name: 'm', failureRate: 0.5, windowSize: 100 }))],
    ['cockatiel, consecutive', heapPerObject(N, cockatiel)],
    ['opossum', heapPerObject(N, () => {
      const o = opossum();
      opossums.push(o);
      return o;
    })],
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
  table('Closed breaker, `async () => 1`', [...closed].map(([name, ns]) => [
    name,
    formatNs(ns),
    name === 'bare async call' ? '' : `+${formatNs(ns - bare)} over bare, ${(ns / bare).toFixed(2)}x bare, ${(ns / bb).toFixed(2)}x breakerbox`,
  ]));
  const open = await openState();
  const bbOpen = open.get('breakerbox rejection')!;
  table('Open breaker, rejection', [...open].map(([name, ns]) => [name, formatNs(ns), `${(ns / bbOpen).toFixed(2)}x breakerbox`]));
  const mem = memory();
  const bbMem = mem[0][1];
  table('Heap per breaker (10,000 breakers)', mem.map(([name, bytes]) => [name, `${Math.round(bytes)} B`, `${(bytes / bbMem).toFixed(2)}x breakerbox`]));
  if (process.env.BENCH_PG !== '0') {
    const pg = pgThroughput(Number(process.env.BENCH_PG_RUNS ?? 15));
    if (typeof pg === 'string') {
      console.log(`
pg SELECT 1 throughput: ${pg}`);
    } else {
      table(`pg SELECT 1 throughput, one client, sequential, taskset-pinned, ${pg.runs} alternating pairs of runs`, [
        ['bare pg (median)', `${Math.round(pg.bare)} q/s`, ''],
        ['--require breakerbox/register (median)', `${Math.round(pg.instrumented)} q/s`, `${pg.ratio.toFixed(3)}x bare (median of pair ratios; pairs ranged ${pg.spread[0].toFixed(3)}..${pg.spread[1].toFixed(3)})`],
        ['CPU per query, bare / instrumented', `${pg.cpuBare.toFixed(1)} / ${pg.cpuInstrumented.toFixed(1)} µs`, ''],
      ]);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

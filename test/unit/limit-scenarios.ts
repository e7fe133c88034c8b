/**
 * Prints the side-by-side table of docs/adaptive-limits.md ("How they behave"):
 * `npx tsx test/unit/limit-scenarios.ts`. One simulation per algorithm runs the phases in order.
 */
import { createLimitAlgorithm } from '../../src/core/limit/create';
import type { AdaptiveAlgorithmName } from '../../src/core/limit/limit-algorithm';
import { SampleFeed, Simulation, type Phase, type PhaseReport } from './limit-simulation';

const PHASES: [string, Phase][] = [
  ['healthy (20 s)', { ms: 20_000, arrivalsPerMs: 2, serviceMs: 10, capacity: 50 }],
  ['overload, first 30 s', { ms: 30_000, arrivalsPerMs: 4, serviceMs: 10, capacity: 20 }],
  ['overload, the next 60 s', { ms: 60_000, arrivalsPerMs: 4, serviceMs: 10, capacity: 20 }],
  ['healthy again (20 s)', { ms: 20_000, arrivalsPerMs: 2, serviceMs: 10, capacity: 50 }],
  ['3x slower per call, same c (30 s)', { ms: 30_000, arrivalsPerMs: 2, serviceMs: 30, capacity: 20 }],
  ['healthy again (20 s)', { ms: 20_000, arrivalsPerMs: 2, serviceMs: 10, capacity: 50 }],
  ['healthy, 5% of calls dropped (20 s)', { ms: 20_000, arrivalsPerMs: 2, serviceMs: 10, capacity: 50, dropRate: 0.05 }],
];

/** Limit over the phase's second half (mean ± sd), mean RTT there, calls shed (in the second half), admitted calls per ms. */
function cell(r: PhaseReport, phase: Phase): string {
  const shedPct = ((100 * r.shed) / r.offered).toFixed(0);
  const goodput = (r.admitted / phase.ms).toFixed(2);
  return `${r.meanLimit.toFixed(1)} ± ${r.sdLimit.toFixed(1)}, ${r.meanRtt.toFixed(1)} ms, shed ${r.shed} (${shedPct}%; ${r.shedLate} late), ${goodput} calls/ms admitted`;
}

const algorithms: AdaptiveAlgorithmName[] = ['gradient2', 'vegas', 'aimd'];
const results = algorithms.map((algorithm) => {
  const sim = new Simulation(createLimitAlgorithm({ kind: 'adaptive', algorithm, min: 1, max: 200 }), 7);
  return PHASES.map(([, phase]) => sim.run(phase));
});
PHASES.forEach(([name, phase], i) => {
  process.stdout.write(`${name}\n`);
  algorithms.forEach((a, j) => process.stdout.write(`  ${a.padEnd(10)} ${cell(results[j][i], phase)}\n`));
});

// A lasting 3x slowdown (10 ms to 30 ms per call) with the app using the whole limit: how low
// the limit goes, and how long until the slower latency is the new normal and it is back at max.
process.stdout.write('lasting 3x slowdown, app using the whole limit (min 2, max 100)\n');
for (const algorithm of algorithms) {
  const feed = new SampleFeed(createLimitAlgorithm({ kind: 'adaptive', algorithm, min: 2, max: 100 }));
  feed.busy(200, 10);
  const start = feed.now;
  let lowest = 100;
  let backAfterS = NaN;
  for (let i = 0; i < 40_000; i++) {
    const limit = feed.busy(1, 30);
    lowest = Math.min(lowest, limit);
    if (limit === 100 && lowest < 100) {
      backAfterS = (feed.now - start) / 1000;
      break;
    }
  }
  process.stdout.write(`  ${algorithm.padEnd(10)} lowest ${lowest}, back at max after ${backAfterS.toFixed(0)} s\n`);
}

// Issue 14's overload benchmark in miniature (scripts/bench-overload.ts runs it against real
// Postgres): a dependency that serves one call at a time (a CPU-bound database on one core),
// 3 ms a call healthy, offered 60% of that; then 12 ms a call (about a quarter of the capacity)
// for 25 s; then healthy again. Targets: p99 of admitted calls <= 3x the slowed service time,
// goodput >= 85% of what the slowed dependency serves alone, no call shed from 5 s after.
process.stdout.write('one-at-a-time dependency slowed 4x, offered 2.4x what it then serves (min 2, max 100)\n');
for (const algorithm of algorithms) {
  const sim = new Simulation(createLimitAlgorithm({ kind: 'adaptive', algorithm, min: 2, max: 100 }), 7);
  sim.run({ ms: 10_000, arrivalsPerMs: 0.2, serviceMs: 3, capacity: 1 });
  const slowed = sim.run({ ms: 25_000, arrivalsPerMs: 0.2, serviceMs: 12, capacity: 1 });
  const after = sim.run({ ms: 15_000, arrivalsPerMs: 0.2, serviceMs: 3, capacity: 1 });
  const goodputPct = (100 * slowed.admitted) / (25_000 / 12);
  const lastShed = after.lastShedMs < 0 ? 'none shed after' : `last shed ${(after.lastShedMs / 1000).toFixed(2)} s after`;
  process.stdout.write(
    `  ${algorithm.padEnd(10)} slowed: limit ${slowed.meanLimit.toFixed(1)} ± ${slowed.sdLimit.toFixed(1)}, ` +
      `p99 ${(slowed.p99Rtt / 12).toFixed(1)}x svc (${(slowed.p99RttSettled / 12).toFixed(1)}x from 5 s), goodput ${goodputPct.toFixed(0)}%; ` +
      `${lastShed}, limit ${after.minLimit}..${after.maxLimit} over the last half\n`,
  );
}

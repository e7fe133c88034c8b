/**
 * What a concurrency limit costs: the closed path of a breaker with a limit that is never
 * reached (fixed and adaptive) next to the same breaker without one, and the refusal of a
 * call over the limit next to the open-state rejection. Reports numbers, asserts nothing.
 */
import { CircuitBreaker } from '../src/core';
import { CallStats } from '../src/registry';
import { formatNs, measure, type Candidate } from './measure';

const one = async (): Promise<number> => 1;

function loop(call: () => Promise<unknown>): (n: number) => Promise<void> {
  return async (n) => {
    for (let i = 0; i < n; i++) await call();
  };
}

function loopRefused(call: () => Promise<unknown>): (n: number) => Promise<void> {
  return async (n) => {
    for (let i = 0; i < n; i++) {
      try {
        await call();
      } catch {
        // expected: refused
      }
    }
  };
}

/** An adaptive breaker, or why there is none (the algorithm may not be built in). */
function adaptive(): CircuitBreaker | string {
  try {
    return new CircuitBreaker({ name: 'bench-adaptive', concurrency: { limit: 'adaptive', min: 1000, max: 2000 } });
  } catch (err) {
    return (err as Error).message;
  }
}

export interface ConcurrencyBench {
  closed: Map<string, number>;
  refusal: Map<string, number>;
  adaptiveMissing: string | null;
}

export async function concurrencyBench(rounds: number, perRound: number): Promise<ConcurrencyBench> {
  const plain = new CircuitBreaker({ name: 'bench' });
  const fixed = new CircuitBreaker({ name: 'bench-fixed', concurrency: { limit: 1000 } });
  const moving = adaptive();
  // With call stats, as every registry breaker runs: the timed path, permits through acquire/release.
  const counted = new CircuitBreaker({ name: 'bench-counted' });
  counted.recorder = new CallStats('execute');
  const countedFixed = new CircuitBreaker({ name: 'bench-counted-fixed', concurrency: { limit: 1000 } });
  countedFixed.recorder = new CallStats('execute');
  const closedCandidates: Candidate[] = [
    { name: 'bare async call', run: loop(() => one()) },
    { name: 'execute, no limit', run: loop(() => plain.execute(one)) },
    { name: 'execute, fixed limit (never reached)', run: loop(() => fixed.execute(one)) },
    { name: 'with call stats, no limit', run: loop(() => counted.execute(one)) },
    { name: 'with call stats, fixed limit (never reached)', run: loop(() => countedFixed.execute(one)) },
  ];
  if (typeof moving !== 'string') {
    closedCandidates.push({ name: 'execute, adaptive limit (never reached)', run: loop(() => moving.execute(one)) });
    const countedMoving = adaptive() as CircuitBreaker;
    countedMoving.recorder = new CallStats('execute');
    closedCandidates.push({ name: 'with call stats, adaptive limit (never reached)', run: loop(() => countedMoving.execute(one)) });
  }
  const closed = await measure(closedCandidates, rounds, perRound);

  const open = new CircuitBreaker({ name: 'bench-open' });
  open.forceOpen();
  const full = new CircuitBreaker({ name: 'bench-full', concurrency: { limit: 1 } });
  void full.execute(() => new Promise(() => undefined)); // holds the one slot for good
  const refusal = await measure(
    [
      { name: 'open-state rejection', run: loopRefused(() => open.execute(one)) },
      { name: 'concurrency refusal', run: loopRefused(() => full.execute(one)) },
    ],
    rounds,
    Math.floor(perRound / 5),
  );
  return { closed, refusal, adaptiveMissing: typeof moving === 'string' ? moving : null };
}

export function concurrencyRows(b: ConcurrencyBench): { closed: [string, string, string][]; refusal: [string, string, string][] } {
  const bare = b.closed.get('bare async call') as number;
  const closed: [string, string, string][] = [...b.closed].map(([name, ns]) => {
    // Each limited breaker against the same kind of breaker without a limit.
    const same = b.closed.get(name.startsWith('with call stats') ? 'with call stats, no limit' : 'execute, no limit') as number;
    return [
      name,
      formatNs(ns),
      name === 'bare async call' ? '' : `+${formatNs(ns - bare)} over bare, +${formatNs(ns - same)} over no limit`,
    ];
  });
  if (b.adaptiveMissing !== null) closed.push(['execute, adaptive limit', 'n/a', b.adaptiveMissing]);
  const rejection = b.refusal.get('open-state rejection') as number;
  const refusal: [string, string, string][] = [...b.refusal].map(([name, ns]) => [
    name,
    formatNs(ns),
    `${(ns / 1000).toFixed(2)} µs, ${(ns / rejection).toFixed(2)}x the open-state rejection`,
  ]);
  return { closed, refusal };
}

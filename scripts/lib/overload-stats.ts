/**
 * What the overload benchmark reports for one phase of one run (before / slowed / after),
 * from the service's call records and its 20 ms samples. Pure: no clock, no I/O.
 */
import { quantile } from '../../bench/stats';

/** One finished call, as the service prints it (times in epoch ms). */
export interface CallRecord {
  /** Scheduled start (open loop) or start (closed loop). */
  s: number;
  /** Latency from `s` to the outcome, ms. */
  l: number;
  /** How late it started behind its schedule, ms. */
  lag: number;
  /** 'ok', or the error's code. */
  o: string;
  /** Closed loop: the concurrency it ran at. */
  lv?: number;
}

/** A sample of the service's state. */
export interface ServiceSample {
  t: number;
  /** pool.waitingCount */
  w: number;
  /** calls started and not finished */
  i: number;
  /** the breaker's concurrency limit, when it has one */
  lim: number | null;
}

/** The open-loop schedule: call n is due at t0 + n * everyMs, for n < count. */
export interface Schedule {
  t0: number;
  everyMs: number;
  count: number;
}

export interface PhaseStats {
  seconds: number;
  /** Calls scheduled per second. */
  offered: number;
  /** Successful calls finished per second (by finishing time). */
  goodput: number;
  /** Latency of admitted calls (not shed, not refused by an open breaker) scheduled in the phase, ms. */
  p50: number;
  p99: number;
  /** p99 is a lower bound: some calls had not finished when the service stopped (counted at the time they had waited). */
  p99LowerBound: boolean;
  /** Refused with ConcurrencyLimitError. */
  shed: number;
  /** Refused by an open breaker. */
  rejected: number;
  /** Admitted calls that failed. */
  failed: number;
  /** Scheduled in the phase and not finished when the service stopped. */
  unfinished: number;
  maxWaiting: number;
  maxInflight: number;
  /** The concurrency limit's range over the phase, or null when there was none. */
  limit: { min: number; max: number } | null;
  /** Largest delay of a call's start behind its schedule, ms (the service's own event loop). */
  maxLag: number;
}

export const SHED_CODE = 'ECONCURRENCYLIMIT';
export const OPEN_CODE = 'ECIRCUITOPEN';

/**
 * Statistics of the phase [from, to): calls by scheduled time (latency, refusals), successes by
 * finishing time (goodput), samples by time. `endedAt` is when the service stopped waiting for
 * calls; calls scheduled in the phase that never finished count at `endedAt - to` in the p99
 * (less than they waited), which makes that p99 a lower bound.
 */
export function phaseStats(
  calls: readonly CallRecord[],
  samples: readonly ServiceSample[],
  schedule: Schedule,
  from: number,
  to: number,
  endedAt: number,
): PhaseStats {
  const seconds = (to - from) / 1000;
  const inPhase = calls.filter((c) => c.s >= from && c.s < to);
  const admitted = inPhase.filter((c) => c.o !== SHED_CODE && c.o !== OPEN_CODE);
  const scheduled = scheduledIn(schedule, from, to);
  const unfinished = Math.max(0, scheduled - inPhase.length);
  const latencies = admitted.map((c) => c.l);
  for (let i = 0; i < unfinished; i++) latencies.push(endedAt - to);
  const ok = calls.filter((c) => c.o === 'ok' && c.s + c.l >= from && c.s + c.l < to).length;
  const phaseSamples = samples.filter((x) => x.t >= from && x.t < to);
  const limits = phaseSamples.map((x) => x.lim).filter((x): x is number => x !== null);
  return {
    seconds,
    offered: scheduled / seconds,
    goodput: ok / seconds,
    p50: latencies.length ? quantile(latencies, 0.5) : NaN,
    p99: latencies.length ? quantile(latencies, 0.99) : NaN,
    p99LowerBound: unfinished > 0,
    shed: inPhase.filter((c) => c.o === SHED_CODE).length,
    rejected: inPhase.filter((c) => c.o === OPEN_CODE).length,
    failed: admitted.filter((c) => c.o !== 'ok').length,
    unfinished,
    maxWaiting: max(phaseSamples.map((x) => x.w)),
    maxInflight: max(phaseSamples.map((x) => x.i)),
    limit: limits.length ? { min: Math.min(...limits), max: Math.max(...limits) } : null,
    maxLag: max(inPhase.map((c) => c.lag)),
  };
}

/** Seconds from `t` to the last shed call's start (negative: shedding had stopped before `t`), or null if none was shed. */
export function lastShedAfter(calls: readonly CallRecord[], t: number): number | null {
  let last = -Infinity;
  for (const c of calls) if (c.o === SHED_CODE && c.s > last) last = c.s;
  return last === -Infinity ? null : (last - t) / 1000;
}

/** Closed loop: per concurrency level, successful calls per second and the latency quantiles (ms). */
export function closedLevels(
  calls: readonly CallRecord[],
  levels: readonly { c: number; t0: number; t1: number }[],
): { concurrency: number; throughput: number; p50: number; p99: number; mean: number }[] {
  return levels.map(({ c, t0, t1 }) => {
    const mine = calls.filter((x) => x.lv === c && x.o === 'ok');
    const ls = mine.map((x) => x.l);
    return {
      concurrency: c,
      throughput: mine.length / ((t1 - t0) / 1000),
      p50: ls.length ? quantile(ls, 0.5) : NaN,
      p99: ls.length ? quantile(ls, 0.99) : NaN,
      mean: ls.length ? ls.reduce((a, b) => a + b, 0) / ls.length : NaN,
    };
  });
}

function scheduledIn(schedule: Schedule, from: number, to: number): number {
  const first = Math.max(0, Math.ceil((from - schedule.t0) / schedule.everyMs));
  const end = Math.min(schedule.count, Math.ceil((to - schedule.t0) / schedule.everyMs));
  return Math.max(0, end - first);
}

function max(xs: readonly number[]): number {
  let m = 0;
  for (const x of xs) if (x > m) m = x;
  return m;
}

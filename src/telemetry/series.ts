import type { CircuitBreaker } from '../core/circuit-breaker';
import type { BreakerState, TransitionReason } from '../core/types';
import type { BreakerRegistry } from '../registry';
import { reportedOperations } from './reported-operations';

/**
 * What one breaker contributes to /metrics at one moment, as plain data: read from the
 * registry's live cells at collection time, so a breaker the registry dropped (an evicted
 * per-target child) is simply absent, and every family lists the same breakers. Plain JSON,
 * so a cluster worker or a worker thread can send it to the process that serves the port.
 */
export interface BreakerSeries {
  breaker: string;
  module: string;
  state: BreakerState;
  failureRate: number;
  /** Per operation, indexed by OUTCOMES: counts, sums (s), and buckets [outcome * width + bucket]. */
  operations: { name: string; counts: number[]; sumsS: number[]; buckets: number[] }[];
  fallbacks: { success: number; failure: number };
  transitions: { from: BreakerState; to: BreakerState; reason: TransitionReason; count: number }[];
  recovery: { buckets: number[]; sumS: number; count: number };
  // Learned baselines (failure_rate / slow_call_duration: auto); null when not learnt.
  baselineFailureRate: number | null;
  baselineLatencyS: number | null;
  /** Absent or null without a concurrency limit; with one, the limit in force and the calls in flight. */
  concurrency?: { limit: number; inflight: number } | null;
}

export function seriesOf(registry: BreakerRegistry): BreakerSeries[] {
  return registry.list().map((entry) => {
    const s = entry.stats;
    return {
      breaker: entry.breaker.name,
      module: entry.module,
      state: entry.breaker.state,
      failureRate: entry.breaker.measuredFailureRate,
      operations: reportedOperations(entry).map((op) => ({
        name: op.name,
        counts: Array.from(op.counts),
        sumsS: Array.from(op.sumsS),
        buckets: Array.from(op.buckets),
      })),
      fallbacks: { success: s.fallbackSuccesses, failure: s.fallbackFailures },
      transitions: [...s.transitions.entries()].map((t) => ({ ...t })),
      recovery: { buckets: Array.from(s.recoveryBuckets), sumS: s.recoverySumS, count: s.recoveryCount },
      ...baselinesOf(entry.breaker),
      concurrency: concurrencyOf(entry.breaker),
    };
  });
}

/** What `failure_rate: auto` / `slow_call_duration: auto` learnt, for the baseline gauges. */
function baselinesOf(b: CircuitBreaker): Pick<BreakerSeries, 'baselineFailureRate' | 'baselineLatencyS'> {
  const latencyMs = b.baselineLatencyMs;
  return { baselineFailureRate: b.baselineFailureRate, baselineLatencyS: latencyMs === null ? null : latencyMs / 1000 };
}

function concurrencyOf(breaker: { concurrencyLimit: number | null; inflight: number }): BreakerSeries['concurrency'] {
  const limit = breaker.concurrencyLimit;
  return limit === null ? null : { limit, inflight: breaker.inflight };
}

/** Where this process stands in its fleet, when fleet mode is on: plain data, like BreakerSeries. */
export interface FleetSeries {
  connected: boolean;
  members: number;
  /** Per shared breaker: members holding it open on their own evidence. */
  openMembers: { breaker: string; count: number }[];
}

export function fleetSeriesOf(registry: BreakerRegistry): FleetSeries | null {
  const fleet = registry.fleet;
  if (fleet === null) return null;
  return {
    connected: fleet.connected,
    members: fleet.members,
    openMembers: fleet.shared.map((breaker) => ({ breaker, count: fleet.status(breaker)?.openMembers ?? 0 })),
  };
}

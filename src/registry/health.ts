import { msUntilRetry } from '../core/errors';
import type { BreakerState } from '../core/types';
import type { ManagedBreaker } from './registry';

export interface BreakerHealth {
  name: string;
  module: string;
  state: BreakerState;
  mode: 'enforce' | 'metrics_only';
  parent: string | null;
  target: string | null;
  consecutiveFailures: number;
  failureRate: number;
  /** ms until a trial is allowed, when open. */
  retryAfterMs: number | null;
  lastTransition: { from: string; to: string; reason: string; at: string } | null;
}

export interface BreakerStatsSnapshot extends BreakerHealth {
  calls: Record<string, number>;
  fallbacks: { success: number; failure: number };
  latencySeconds: { p50: number | null; p95: number | null; p99: number | null };
  recoveries: { count: number; totalSeconds: number };
}

/** States that make a health check answer 503: calls are being refused. */
export function isUnhealthy(state: BreakerState): boolean {
  return state === 'open' || state === 'forced_open';
}

export function healthOf(entry: ManagedBreaker): BreakerHealth {
  const b = entry.breaker;
  const t = b.lastTransition;
  return {
    name: b.name,
    module: entry.module,
    state: b.state,
    mode: b.mode,
    parent: entry.parent,
    target: entry.target,
    consecutiveFailures: b.consecutiveFailures,
    failureRate: b.failureRate,
    retryAfterMs: msUntilRetry(b.retryAt, b.now()),
    lastTransition: t && { from: t.from, to: t.to, reason: t.reason, at: new Date(t.at).toISOString() },
  };
}

export function statsOf(entry: ManagedBreaker): BreakerStatsSnapshot {
  const s = entry.stats;
  return {
    ...healthOf(entry),
    calls: s.totals(),
    fallbacks: { success: s.fallbackSuccesses, failure: s.fallbackFailures },
    latencySeconds: { p50: s.quantile(0.5), p95: s.quantile(0.95), p99: s.quantile(0.99) },
    recoveries: { count: s.recoveryCount, totalSeconds: s.recoverySumS },
  };
}

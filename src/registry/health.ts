import { msUntilRetry } from '../core/errors';
import type { BreakerState } from '../core/types';
import type { BreakerRegistry, ManagedBreaker } from './registry';

export interface BreakerHealth {
  name: string;
  module: string;
  state: BreakerState;
  mode: 'enforce' | 'metrics_only';
  parent: string | null;
  target: string | null;
  consecutiveFailures: number;
  failureRate: number;
  /** ms until a trial is allowed, when open (0 once the next call would be let through as a trial). */
  retryAfterMs: number | null;
  /**
   * Whether a call made now would be refused: forced open, or open with retry time still to
   * wait. An open breaker whose retry time has passed refuses nothing (the next call is its
   * trial), so a breaker that sees no traffic cannot report an outage forever.
   */
  refusing: boolean;
  /** A breaker that never refuses a call (metrics_only, a ws server's slow-consumer breaker): left out by `?scope=enforced`. */
  advisory: boolean;
  lastTransition: { from: string; to: string; reason: string; at: string } | null;
  /** For a per-target parent: its live children rolled up. */
  targets?: TargetsRollup;
  /** Fleet mode on and this breaker shared: the fleet as this member sees it. */
  fleet?: FleetHealth;
  /** failure_rate or slow_call_duration is auto: what the breaker learnt, and the thresholds in force now. */
  baseline?: BaselineHealth;
  /** Only for a breaker with a concurrency limit: the limit in force and the guarded calls in flight. */
  concurrency?: { limit: number; inflight: number };
}

export interface BaselineHealth {
  /** The learnt failure rate (failure_rate: auto), else null. */
  failureRate: number | null;
  /** The failure rate the window must reach to open now (0: none). */
  failureRateThreshold: number;
  /** The learnt p99-ish latency in ms (slow_call_duration: auto), else null. */
  latencyMs: number | null;
  /** The duration past which a call is slow now, ms (0: none yet). */
  slowCallMs: number;
}

export interface FleetHealth {
  /** Members this instance sees, itself included. */
  members: number;
  /** Members holding this breaker open on their own evidence. */
  open_members: number;
  /** Members needed for the fleet to open it. */
  quorum: number;
  /** The member running the fleet's next half-open trial; null when no member holds it open. */
  prober: string | null;
}

export interface TargetsRollup {
  /** Worst of the parent's own state and its children's (forced_open > open > half_open > closed > disabled). */
  worstState: BreakerState;
  count: number;
  byState: Record<BreakerState, number>;
  /** Targets whose child refuses calls right now. */
  refusing: string[];
}

export interface BreakerStatsSnapshot extends BreakerHealth {
  calls: Record<string, number>;
  fallbacks: { success: number; failure: number };
  latencySeconds: { p50: number | null; p95: number | null; p99: number | null };
  recoveries: { count: number; totalSeconds: number };
  /** For a per-target parent: calls per outcome over its children, evicted ones included. */
  targetCalls?: Record<string, number>;
}

/** Which breakers a health answer covers: `all` (default), or `enforced` (advisory breakers left out). */
export type HealthScope = 'all' | 'enforced';
export const HEALTH_SCOPES: readonly HealthScope[] = ['all', 'enforced'];

const SEVERITY: Record<BreakerState, number> = { disabled: 0, closed: 1, half_open: 2, open: 3, forced_open: 4 };

/** States that refuse calls while they last. Prefer `BreakerHealth.refusing`, which knows about retry time. */
export function isUnhealthy(state: BreakerState): boolean {
  return state === 'open' || state === 'forced_open';
}

/** Whether a health answer should be 503: this breaker, or (for a parent) one of its targets, refuses calls. */
export function refusesCalls(h: BreakerHealth): boolean {
  return h.refusing || (h.targets !== undefined && h.targets.refusing.length > 0);
}

function isAdvisory(entry: ManagedBreaker): boolean {
  if (entry.breaker.mode === 'metrics_only') return true;
  // The ws patcher records server-side sends to spot slow consumers, and never refuses them.
  return entry.module === 'ws' && entry.target !== null && /^server(:|$)/.test(entry.target);
}

function ownHealth(entry: ManagedBreaker): BreakerHealth {
  const b = entry.breaker;
  const t = b.lastTransition;
  const retryAfterMs = msUntilRetry(b.retryAt, b.now());
  return {
    name: b.name,
    module: entry.module,
    state: b.state,
    mode: b.mode,
    parent: entry.parent,
    target: entry.target,
    consecutiveFailures: b.consecutiveFailures,
    failureRate: b.measuredFailureRate,
    retryAfterMs,
    refusing: b.state === 'forced_open' || (b.state === 'open' && retryAfterMs !== null && retryAfterMs > 0),
    advisory: isAdvisory(entry),
    lastTransition: t && { from: t.from, to: t.to, reason: t.reason, at: new Date(t.at).toISOString() },
    ...baselineHealth(entry),
    ...concurrencyHealth(entry),
  };
}

function baselineHealth(entry: ManagedBreaker): { baseline?: BaselineHealth } {
  const b = entry.breaker;
  const failureRate = b.baselineFailureRate;
  const latencyMs = b.baselineLatencyMs;
  if (failureRate === null && latencyMs === null) return {};
  return {
    baseline: { failureRate, failureRateThreshold: b.failureRateThreshold, latencyMs, slowCallMs: b.slowCallThresholdMs },
  };
}

function concurrencyHealth(entry: ManagedBreaker): { concurrency?: { limit: number; inflight: number } } {
  const limit = entry.breaker.concurrencyLimit;
  return limit === null ? {} : { concurrency: { limit, inflight: entry.breaker.inflight } };
}

/** A breaker's health; with the registry, a per-target parent also rolls up its children. */
export function healthOf(entry: ManagedBreaker, registry?: BreakerRegistry, scope: HealthScope = 'all'): BreakerHealth {
  const own = ownHealth(entry);
  const fleet = registry && entry.parent === null ? fleetHealth(registry, entry.breaker.name) : null;
  if (fleet !== null) own.fleet = fleet;
  if (!registry || entry.parent !== null || !entry.config?.perTarget) return own;
  const byState: Record<BreakerState, number> = { closed: 0, open: 0, half_open: 0, forced_open: 0, disabled: 0 };
  const refusing: string[] = [];
  let worst = own.state;
  let count = 0;
  for (const kid of registry.childrenOf(entry.breaker.name)) {
    const h = ownHealth(kid);
    if (scope === 'enforced' && h.advisory) continue;
    count++;
    byState[h.state]++;
    if (SEVERITY[h.state] > SEVERITY[worst]) worst = h.state;
    if (h.refusing) refusing.push(kid.target ?? h.name);
  }
  return { ...own, targets: { worstState: worst, count, byState, refusing } };
}

function fleetHealth(registry: BreakerRegistry, name: string): FleetHealth | null {
  const fleet = registry.fleet;
  const status = fleet?.status(name) ?? null;
  if (fleet === null || status === null) return null;
  return { members: fleet.members, open_members: status.openMembers, quorum: status.quorum, prober: status.prober };
}

export function statsOf(entry: ManagedBreaker, registry?: BreakerRegistry): BreakerStatsSnapshot {
  const s = entry.stats;
  const out: BreakerStatsSnapshot = {
    ...healthOf(entry, registry),
    calls: callsOf(entry),
    fallbacks: { success: s.fallbackSuccesses, failure: s.fallbackFailures },
    latencySeconds: { p50: s.quantile(0.5), p95: s.quantile(0.95), p99: s.quantile(0.99) },
    recoveries: { count: s.recoveryCount, totalSeconds: s.recoverySumS },
  };
  if (out.targets && registry) {
    const sum = registry.retiredCalls(entry.breaker.name);
    for (const kid of registry.childrenOf(entry.breaker.name)) {
      for (const [outcome, n] of Object.entries(callsOf(kid))) sum[outcome] = (sum[outcome] ?? 0) + n;
    }
    out.targetCalls = sum;
  }
  return out;
}

/** Calls per outcome; `limited` only for a breaker with a concurrency limit (no other can refuse for one). */
function callsOf(entry: ManagedBreaker): Record<string, number> {
  const calls = entry.stats.totals();
  if (entry.breaker.concurrencyLimit === null) delete calls.limited;
  return calls;
}

/** The answer of GET /health/circuit-breakers for a registry. */
export function healthReport(
  registry: BreakerRegistry,
  scope: HealthScope = 'all',
): { status: 'ok' | 'unhealthy'; unhealthy: string[]; breakers: BreakerHealth[] } {
  const breakers = registry
    .list()
    .map((e) => healthOf(e, registry, scope))
    .filter((h) => scope === 'all' || !h.advisory);
  const unhealthy = breakers.filter(refusesCalls).map((b) => b.name);
  return { status: unhealthy.length > 0 ? 'unhealthy' : 'ok', unhealthy, breakers };
}

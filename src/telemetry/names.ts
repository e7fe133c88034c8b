/**
 * Metric names as registered with OpenTelemetry. The Prometheus exporter appends `_total`
 * to counters and adds no unit suffix, so these become exactly the series DESIGN.md lists.
 */
export const METRIC = {
  state: 'circuit_breaker_state',
  calls: 'circuit_breaker_calls',
  callDuration: 'circuit_breaker_call_duration_seconds',
  transitions: 'circuit_breaker_transitions',
  failureRate: 'circuit_breaker_failure_rate',
  fallbacks: 'circuit_breaker_fallbacks',
  recoveryDuration: 'circuit_breaker_recovery_duration_seconds',
  fleetMembers: 'circuit_breaker_fleet_members',
  fleetConnected: 'circuit_breaker_fleet_connected',
  fleetOpenMembers: 'circuit_breaker_fleet_open_members',
  baselineFailureRate: 'circuit_breaker_baseline_failure_rate',
  baselineLatency: 'circuit_breaker_baseline_latency_seconds',
  // Concurrency limits (DESIGN.md section 6): only breakers with a limit have these series.
  concurrencyLimit: 'circuit_breaker_concurrency_limit',
  inflight: 'circuit_breaker_inflight',
} as const;

export const SPAN_TRANSITION = 'circuit_breaker.transition';
export const EVENT_REJECTED = 'circuit_breaker.rejected';
export const SPAN_CALL = 'circuit_breaker.call';

export const STATES = ['closed', 'open', 'half_open', 'forced_open', 'disabled'] as const;

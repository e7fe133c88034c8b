import type { BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import { OUTCOMES } from '../core/recorder';
import type { BreakerRegistry, ManagedBreaker } from '../registry';
import { METRIC, STATES } from './names';
import { reportedOperations } from './reported-operations';
import { TransitionCounts } from './transition-counts';

/**
 * Counters and gauges as observable instruments: the breakers count into plain fields and
 * these callbacks read them when a reader collects, so no attribute set is hashed per call.
 */
export function registerBreakerMetrics(meter: Meter, registry: BreakerRegistry, transitions: WeakMap<ManagedBreaker, TransitionCounts>): void {
  const state = meter.createObservableGauge(METRIC.state, {
    description: 'Circuit breaker state: 1 for the current state, 0 for the others',
  });
  const calls = meter.createObservableCounter(METRIC.calls, {
    description: 'Guarded calls by outcome (success, failure, ignored, rejected, timeout)',
  });
  const transitionCounter = meter.createObservableCounter(METRIC.transitions, {
    description: 'Circuit breaker state transitions',
  });
  const failureRate = meter.createObservableGauge(METRIC.failureRate, {
    description: 'Failure rate over the rolling window, 0..1',
  });
  const fallbacks = meter.createObservableCounter(METRIC.fallbacks, {
    description: 'Fallback invocations by result',
  });

  meter.addBatchObservableCallback((result) => {
    for (const entry of registry.list()) {
      const breaker = entry.breaker.name;
      const current = entry.breaker.state;
      for (const s of STATES) result.observe(state, s === current ? 1 : 0, { breaker, state: s });
      result.observe(failureRate, entry.breaker.failureRate, { breaker });
      observeCalls(result, calls, entry);
      const t = transitions.get(entry);
      if (t) for (const { from, to, count } of t.entries()) result.observe(transitionCounter, count, { breaker, from, to });
      result.observe(fallbacks, entry.stats.fallbackSuccesses, { breaker, result: 'success' });
      result.observe(fallbacks, entry.stats.fallbackFailures, { breaker, result: 'failure' });
    }
  }, [state, calls, transitionCounter, failureRate, fallbacks]);
}

function observeCalls(result: BatchObservableResult, calls: Observable, entry: ManagedBreaker): void {
  const breaker = entry.breaker.name;
  const module = entry.module;
  for (const op of reportedOperations(entry)) {
    for (let i = 0; i < OUTCOMES.length; i++) {
      result.observe(calls, op.counts[i], { breaker, module, operation: op.name, outcome: OUTCOMES[i] });
    }
  }
}

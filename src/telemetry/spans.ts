import type { Link, Tracer } from '@opentelemetry/api';
import { otelApi } from './deferred';
import type { CallEvent, StateChangeEvent } from '../core/events';
import { EVENT_REJECTED, SPAN_CALL, SPAN_TRANSITION } from './names';
import { transitionCause } from './transition-cause';

let loadedApi: typeof import('@opentelemetry/api') | undefined;
/** The API on the first span or event, not at start-up: under OTEL_SDK_DISABLED there may never be one. */
const api = (): typeof import('@opentelemetry/api') => (loadedApi ??= otelApi());

/**
 * A transition happens inside the call that caused it, so the active span at that moment is
 * that call's span: the transition span links to it (a link, not a parent, because the
 * transition outlives the request that tripped it).
 */
export function recordTransitionSpan(tracer: Tracer, e: StateChangeEvent): void {
  const { context, trace } = api();
  const active = trace.getSpan(context.active());
  const links: Link[] = active ? [{ context: active.spanContext() }] : [];
  const cause = transitionCause(e);
  const span = tracer.startSpan(SPAN_TRANSITION, {
    root: true,
    links,
    startTime: e.at,
    attributes: {
      breaker: e.breaker,
      from: e.from,
      to: e.to,
      reason: e.reason,
      'circuit_breaker.consecutive_failures': e.consecutiveFailures,
      'circuit_breaker.failure_rate': e.failureRate,
      ...(cause.errorCode === undefined ? {} : { 'circuit_breaker.error_code': cause.errorCode }),
      ...(cause.errorClass === undefined ? {} : { 'circuit_breaker.error_class': cause.errorClass }),
      ...(cause.target === undefined ? {} : { 'circuit_breaker.target': cause.target }),
    },
  });
  span.end(e.at);
}

/** Marks the caller's span: the call was refused, the dependency never saw it. */
export function recordRejectedEvent(e: CallEvent): void {
  const span = api().trace.getActiveSpan();
  if (!span || !span.isRecording()) return;
  const err = e.error as { state?: string; retryAfterMs?: number | null };
  span.addEvent(EVENT_REJECTED, { breaker: e.breaker, state: err.state ?? 'open', retry_after_ms: err.retryAfterMs ?? -1 });
}

/** Opt-in (`tracing.call_spans`): one span per guarded call, as a child of the caller's span. */
export function recordCallSpan(tracer: Tracer, e: CallEvent): void {
  const end = Date.now();
  const span = tracer.startSpan(SPAN_CALL, {
    startTime: end - e.durationMs,
    attributes: { breaker: e.breaker, outcome: e.outcome },
  });
  if (e.outcome !== 'success' && e.outcome !== 'ignored') span.setStatus({ code: 2, message: e.outcome });
  span.end(end);
}

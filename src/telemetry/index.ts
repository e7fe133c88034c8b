import type { Meter, Tracer } from '@opentelemetry/api';
import type { LogLevel } from '../config';
import type { BreakerRegistry } from '../registry';
import { VERSION } from '../version';
import { otelApi } from './deferred';
import { recordCallSpan, recordRejectedEvent, recordTransitionSpan } from './spans';
import { makeTransitionLogger } from './transition-log';

export { BreakerboxMetricProducer } from './histogram-producer';
export { METRIC, SPAN_TRANSITION, EVENT_REJECTED } from './names';

export interface TelemetryOptions {
  registry: BreakerRegistry;
  /**
   * Unused: every series now comes from BreakerboxMetricProducer, so a breaker the registry
   * drops leaves /metrics. Kept so existing calls still compile.
   * @deprecated
   */
  meter?: Meter;
  /** Default: the global tracer `breakerbox`. */
  tracer?: Tracer;
  logLevel?: LogLevel;
  callSpans?: boolean;
  /** Where transition log lines go (default: stderr). */
  writeLog?: (line: string) => void;
}

/**
 * Connects the registry's breakers to OpenTelemetry traces and logs: spans and log lines for
 * transitions, span events for rejections. Reads only; never changes a breaker's behaviour.
 * Metrics reach the metric reader through BreakerboxMetricProducer.
 */
export function startTelemetry(options: TelemetryOptions): void {
  const { registry } = options;
  // The global tracer is looked up on the first span, which also loads the API then: the
  // preload under OTEL_SDK_DISABLED may never make one. A global tracer is a proxy resolved
  // when used, so looking it up later finds the same provider.
  let tracer = options.tracer;
  const tracerNow = (): Tracer => (tracer ??= otelApi().trace.getTracer('breakerbox', VERSION));
  const log = makeTransitionLogger(options.logLevel ?? 'info', options.writeLog);
  registry.onAdd((entry) => {
    const b = entry.breaker;
    b.on('stateChange', (e) => {
      recordTransitionSpan(tracerNow(), e);
      log(e);
    });
    b.on('rejected', recordRejectedEvent);
    if (options.callSpans) {
      const span = (e: Parameters<typeof recordCallSpan>[1]): void => recordCallSpan(tracerNow(), e);
      b.on('success', span);
      b.on('failure', span);
      b.on('timeout', span);
      b.on('ignored', span);
    }
  });
}

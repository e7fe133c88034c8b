import { metrics, trace, type Meter, type Tracer } from '@opentelemetry/api';
import type { LogLevel } from '../config';
import type { BreakerRegistry, ManagedBreaker } from '../registry';
import { VERSION } from '../version';
import { registerBreakerMetrics } from './metrics';
import { recordCallSpan, recordRejectedEvent, recordTransitionSpan } from './spans';
import { makeTransitionLogger } from './transition-log';
import { TransitionCounts } from './transition-counts';

export { BreakerboxMetricProducer } from './histogram-producer';
export { METRIC, SPAN_TRANSITION, EVENT_REJECTED } from './names';

export interface TelemetryOptions {
  registry: BreakerRegistry;
  /** Default: the global meter `breakerbox`. */
  meter?: Meter;
  /** Default: the global tracer `breakerbox`. */
  tracer?: Tracer;
  logLevel?: LogLevel;
  callSpans?: boolean;
  /** Where transition log lines go (default: stderr). */
  writeLog?: (line: string) => void;
}

/**
 * Connects the registry's breakers to OpenTelemetry: observable counters and gauges, spans
 * and log lines for transitions, span events for rejections. Reads only; never changes a
 * breaker's behaviour. The histograms reach the metric reader through BreakerboxMetricProducer.
 */
export function startTelemetry(options: TelemetryOptions): void {
  const { registry } = options;
  const meter = options.meter ?? metrics.getMeter('breakerbox', VERSION);
  const tracer = options.tracer ?? trace.getTracer('breakerbox', VERSION);
  const log = makeTransitionLogger(options.logLevel ?? 'info', options.writeLog);
  const transitions = new WeakMap<ManagedBreaker, TransitionCounts>();
  registerBreakerMetrics(meter, registry, transitions);
  registry.onAdd((entry) => {
    const counts = new TransitionCounts();
    transitions.set(entry, counts);
    const b = entry.breaker;
    b.on('stateChange', (e) => {
      counts.add(e.from, e.to);
      recordTransitionSpan(tracer, e);
      log(e);
    });
    b.on('rejected', recordRejectedEvent);
    if (options.callSpans) {
      const span = (e: Parameters<typeof recordCallSpan>[1]): void => recordCallSpan(tracer, e);
      b.on('success', span);
      b.on('failure', span);
      b.on('timeout', span);
      b.on('ignored', span);
    }
  });
}

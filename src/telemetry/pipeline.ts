/* eslint-disable @typescript-eslint/no-require-imports */
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type { BreakerRegistry } from '../registry';
import { exporterPrometheus } from './deferred';
import { BreakerboxMetricProducer } from './histogram-producer';
import { exporterNames, metricReadersFromEnv } from './metric-readers';

export interface SdkHandle {
  /** The NodeSDK, when traces or logs are exported; null when only metrics are. */
  sdk: NodeSDK | null;
  /** Flushes and stops what was started. */
  shutdown(): Promise<void>;
}

export interface Pipeline extends SdkHandle {
  /** Serves `/metrics`; null when monitoring is off. */
  prometheus: PrometheusExporter | null;
  /** Hands every breakerbox series to the readers (and serves cluster members' through them). */
  producer: BreakerboxMetricProducer;
}

export interface PipelineOptions {
  registry: BreakerRegistry;
  /** Build the Prometheus exporter (monitoring.enabled). */
  prometheus: boolean;
  env: NodeJS.ProcessEnv;
  warn(msg: string): void;
}

/**
 * Starts the OpenTelemetry pipeline the environment asks for, loading only its parts: the
 * metrics SDK and the Prometheus exporter by default, push exporters when OTEL_METRICS_EXPORTER
 * names them, NodeSDK (traces, logs, other propagators) only when those are asked for.
 */
export function startPipeline(options: PipelineOptions): Pipeline {
  const { env } = options;
  const producer = new BreakerboxMetricProducer(options.registry);
  const prometheus = options.prometheus
    ? new (exporterPrometheus().PrometheusExporter)({ preventServerStart: true, metricProducers: [producer] })
    : null;
  const readers = [...(prometheus ? [prometheus] : []), ...metricReadersFromEnv(producer, env, options.warn)];
  const handle = needsNodeSdk(env)
    ? (require('./node-sdk-pipeline') as typeof import('./node-sdk-pipeline')).startNodeSdk(readers, env)
    : (require('./metrics-pipeline') as typeof import('./metrics-pipeline')).startMetricsOnly(readers, env, options.warn);
  return { ...handle, prometheus, producer };
}

const W3C_PROPAGATORS = new Set(['tracecontext', 'baggage', 'none']);

/** NodeSDK earns its cost where it builds what the metrics path does not: traces, logs, B3/Jaeger propagation. */
export function needsNodeSdk(env: NodeJS.ProcessEnv): boolean {
  const asksFor = (value: string | undefined): boolean => exporterNames(value).some((x) => x !== 'none');
  return (
    asksFor(env.OTEL_TRACES_EXPORTER) ||
    asksFor(env.OTEL_LOGS_EXPORTER) ||
    exporterNames(env.OTEL_PROPAGATORS).some((x) => !W3C_PROPAGATORS.has(x))
  );
}

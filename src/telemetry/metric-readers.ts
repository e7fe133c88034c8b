/* eslint-disable @typescript-eslint/no-require-imports -- the OTLP exporters load only when asked for */
import type { MetricProducer, MetricReader, PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { sdkMetrics } from './deferred';

/**
 * Extra metric readers from OTEL_METRICS_EXPORTER, which keeps its standard meaning under the
 * preload: `otlp` and `console` push the same series (histograms included, through our
 * producer) next to the `/metrics` endpoint; `prometheus` and `none` add nothing, since
 * `/metrics` is served by the monitoring server whenever `monitoring.enabled` is on.
 */
export function metricReadersFromEnv(
  producer: MetricProducer,
  env: NodeJS.ProcessEnv = process.env,
  warn: (msg: string) => void = () => undefined,
): MetricReader[] {
  const names = exporterNames(env.OTEL_METRICS_EXPORTER);
  const readers: MetricReader[] = [];
  if (names.every((n) => n === 'prometheus' || n === 'none')) return readers;
  const { ConsoleMetricExporter, PeriodicExportingMetricReader } = sdkMetrics();
  for (const name of new Set(names)) {
    let exporter: PushMetricExporter | null = null;
    if (name === 'otlp') exporter = otlpExporter(env, warn);
    else if (name === 'console') exporter = new ConsoleMetricExporter();
    else if (name !== 'prometheus' && name !== 'none')
      warn(`OTEL_METRICS_EXPORTER: unknown exporter "${name}" ignored (expected otlp, console, prometheus or none)`);
    if (exporter) {
      readers.push(
        new PeriodicExportingMetricReader({
          exporter,
          metricProducers: [producer],
          ...positive('exportIntervalMillis', env.OTEL_METRIC_EXPORT_INTERVAL),
          ...positive('exportTimeoutMillis', env.OTEL_METRIC_EXPORT_TIMEOUT),
        }),
      );
    }
  }
  return readers;
}

/** The exporters an OTEL_*_EXPORTER variable lists, normalised; [] when unset. */
export function exporterNames(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

function positive(key: string, value: string | undefined): Record<string, number> {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? { [key]: n } : {};
}

/** Loaded only when asked for: most apps never push metrics and should not pay for grpc. */
function otlpExporter(env: NodeJS.ProcessEnv, warn: (msg: string) => void): PushMetricExporter | null {
  const protocol = env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  switch (protocol) {
    case 'http/protobuf':
      return new (
        require('@opentelemetry/exporter-metrics-otlp-proto') as typeof import('@opentelemetry/exporter-metrics-otlp-proto')
      ).OTLPMetricExporter();
    case 'http/json':
      return new (
        require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http')
      ).OTLPMetricExporter();
    case 'grpc':
      return new (
        require('@opentelemetry/exporter-metrics-otlp-grpc') as typeof import('@opentelemetry/exporter-metrics-otlp-grpc')
      ).OTLPMetricExporter();
    default:
      warn(
        `OTEL_EXPORTER_OTLP_PROTOCOL: unknown protocol "${protocol}" (expected http/protobuf, http/json or grpc); metrics are not pushed`,
      );
      return null;
  }
}

import { diag, DiagConsoleLogger, metrics, propagation } from '@opentelemetry/api';
import { CompositePropagator, diagLogLevelFromString, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import { exporterNames } from './metric-readers';
import type { SdkHandle } from './pipeline';
import { resourceFromEnv } from './resource';

/**
 * What NodeSDK sets up when only metrics leave the process (diag logger, W3C propagators,
 * resource, meter provider), without NodeSDK itself: it imports the trace and log SDKs and
 * every OTLP exporter up front, which would triple the preload's start-up for nothing.
 */
export function startMetricsOnly(readers: MetricReader[], env: NodeJS.ProcessEnv, warn: (msg: string) => void): SdkHandle {
  const logLevel = env.OTEL_LOG_LEVEL;
  if (logLevel) diag.setLogger(new DiagConsoleLogger(), { logLevel: diagLogLevelFromString(logLevel) });
  setPropagator(env);
  // Like NodeSDK: no reader, no provider (the metrics API stays a no-op).
  if (readers.length === 0) return { sdk: null, shutdown: () => Promise.resolve() };
  const meterProvider = new MeterProvider({
    resource: resourceFromEnv(env, warn),
    readers,
    sdkMetricsEnabled: /^true$/i.test(env.OTEL_NODE_EXPERIMENTAL_SDK_METRICS?.trim() ?? ''),
  });
  metrics.setGlobalMeterProvider(meterProvider);
  return { sdk: null, shutdown: () => meterProvider.shutdown() };
}

/** OTEL_PROPAGATORS as NodeSDK reads it, for the W3C names (others go through NodeSDK). */
function setPropagator(env: NodeJS.ProcessEnv): void {
  const names = [...new Set(exporterNames(env.OTEL_PROPAGATORS))];
  if (names.includes('none')) return;
  const chosen = names.length === 0 ? ['tracecontext', 'baggage'] : names;
  const propagators = chosen.map((n) => (n === 'baggage' ? new W3CBaggagePropagator() : new W3CTraceContextPropagator()));
  propagation.setGlobalPropagator(propagators.length === 1 ? propagators[0] : new CompositePropagator({ propagators }));
}

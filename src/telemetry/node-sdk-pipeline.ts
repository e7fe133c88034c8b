import type { ContextManager } from '@opentelemetry/api';
import type { MetricReader } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { SdkHandle } from './pipeline';

/** NodeSDK reads a null context manager as "register none" (its types do not say so). */
const NO_CONTEXT_MANAGER = null as unknown as ContextManager;

/** The full NodeSDK, for when OTEL_*_EXPORTER asks for traces or logs: it builds those pipelines from the environment. */
export function startNodeSdk(readers: MetricReader[], env: NodeJS.ProcessEnv): SdkHandle {
  const sdk = new NodeSDK({
    // breakerbox patches through its own module hooks (instrumentation/module-hooks.ts).
    instrumentations: [],
    metricReaders: readers,
    // Without an exporter chosen in OTEL_*_EXPORTER the SDK would default to OTLP and try
    // to connect to a collector that is usually not there: send nothing instead.
    // No spans are exported then, so no context needs tracking either: skipping the
    // AsyncLocalStorage context manager keeps async_hooks off every promise of the app.
    ...(env.OTEL_TRACES_EXPORTER ? {} : { spanProcessors: [], contextManager: NO_CONTEXT_MANAGER }),
    ...(env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  return { sdk, shutdown: () => sdk.shutdown() };
}

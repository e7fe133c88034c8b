/* eslint-disable @typescript-eslint/no-require-imports */
import type { CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { HrTime } from '@opentelemetry/api';
import type { BreakerRegistry } from '../registry';
import { VERSION } from '../version';
import { otelCore, resources } from './deferred';
import type { SeriesSource } from './render-series';
import { fleetSeriesOf, seriesOf } from './series';

/** Series of other processes served on this port (cluster workers, worker threads). */
/** Null when there are none right now: this process is then labelled as if alone. */
export type RemoteSeries = () => Promise<SeriesSource[] | null>;

/**
 * Every breakerbox series, handed to the metric reader at collection time straight from the
 * registry's cells: counters, gauges and histograms come from this one source, so they always
 * show the same breakers, and a breaker the registry dropped leaves /metrics at once (the
 * SDK's observable instruments would keep every attribute set they ever saw).
 * Apps with their own NodeSDK add it to their reader: `metricProducers: [new BreakerboxMetricProducer(registry)]`.
 * What it needs of the SDK (and the rendering, which uses the SDK's enums) is loaded at the
 * first collection, where a reader exists: the library entry exports this class without it.
 */
export class BreakerboxMetricProducer implements MetricProducer {
  /** Epoch milliseconds, the same clock as OpenTelemetry's hrTime(). */
  private readonly startMs = performance.timeOrigin + performance.now();
  private startTime: HrTime | null = null;
  private remote: RemoteSeries | null = null;
  private localWorker: string | null = null;

  constructor(private readonly registry: BreakerRegistry) {}

  /**
   * Serves other processes' breakers next to this one's; while there are some, this
   * process's gauges are labelled `worker=<localWorker>`.
   * @internal
   */
  serveRemote(remote: RemoteSeries, localWorker: string): void {
    this.remote = remote;
    this.localWorker = localWorker;
  }

  async collect(): Promise<CollectionResult> {
    const errors: unknown[] = [];
    let remote: SeriesSource[] | null = null;
    if (this.remote) {
      try {
        remote = await this.remote();
      } catch (err) {
        errors.push(err);
      }
    }
    const sources: SeriesSource[] = [
      { worker: remote ? this.localWorker : null, series: seriesOf(this.registry), fleet: fleetSeriesOf(this.registry) },
      ...(remote ?? []),
    ];
    const { hrTime, millisToHrTime } = otelCore();
    this.startTime ??= millisToHrTime(this.startMs);
    const { renderSeries } = require('./render-series') as typeof import('./render-series');
    return {
      resourceMetrics: {
        // Readers keep their own resource and take only the scope metrics from producers.
        resource: resources().emptyResource(),
        scopeMetrics: [{ scope: { name: 'breakerbox', version: VERSION }, metrics: renderSeries(sources, this.startTime, hrTime()) }],
      },
      errors,
    };
  }
}

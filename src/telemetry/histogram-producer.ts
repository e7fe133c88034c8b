import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import type { CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { HrTime } from '@opentelemetry/api';
import type { BreakerRegistry } from '../registry';
import { VERSION } from '../version';
import { renderSeries, type SeriesSource } from './render-series';
import { seriesOf } from './series';

/** Series of other processes served on this port (cluster workers, worker threads). */
export type RemoteSeries = () => Promise<SeriesSource[]>;

/**
 * Every breakerbox series, handed to the metric reader at collection time straight from the
 * registry's cells: counters, gauges and histograms come from this one source, so they always
 * show the same breakers, and a breaker the registry dropped leaves /metrics at once (the
 * SDK's observable instruments would keep every attribute set they ever saw).
 * Apps with their own NodeSDK add it to their reader: `metricProducers: [new BreakerboxMetricProducer(registry)]`.
 */
export class BreakerboxMetricProducer implements MetricProducer {
  private readonly startTime: HrTime = hrTime();
  private remote: RemoteSeries | null = null;
  private localWorker: string | null = null;

  constructor(private readonly registry: BreakerRegistry) {}

  /**
   * Serves other processes' breakers next to this one's; this process's gauges are then
   * labelled `worker=<localWorker>`.
   * @internal
   */
  serveRemote(remote: RemoteSeries, localWorker: string): void {
    this.remote = remote;
    this.localWorker = localWorker;
  }

  async collect(): Promise<CollectionResult> {
    const sources: SeriesSource[] = [{ worker: this.localWorker, series: seriesOf(this.registry) }];
    const errors: unknown[] = [];
    if (this.remote) {
      try {
        sources.push(...(await this.remote()));
      } catch (err) {
        errors.push(err);
      }
    }
    return {
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: [{ scope: { name: 'breakerbox', version: VERSION }, metrics: renderSeries(sources, this.startTime, hrTime()) }],
      },
      errors,
    };
  }
}

import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import type { CollectionResult, MetricProducer } from '@opentelemetry/sdk-metrics';
import type { HrTime } from '@opentelemetry/api';
import type { BreakerRegistry } from '../registry';
import { VERSION } from '../version';
import { renderSeries, type SeriesSource } from './render-series';
import { seriesOf } from './series';

/** Series of other processes served on this port (cluster workers, worker threads). */
/** Null when there are none right now: this process is then labelled as if alone. */
export type RemoteSeries = () => Promise<SeriesSource[] | null>;

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
    const sources: SeriesSource[] = [{ worker: remote ? this.localWorker : null, series: seriesOf(this.registry) }, ...(remote ?? [])];
    return {
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: [{ scope: { name: 'breakerbox', version: VERSION }, metrics: renderSeries(sources, this.startTime, hrTime()) }],
      },
      errors,
    };
  }
}

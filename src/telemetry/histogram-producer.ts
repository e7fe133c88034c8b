import { hrTime } from '@opentelemetry/core';
import { emptyResource } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricProducer,
} from '@opentelemetry/sdk-metrics';
import { ValueType, type HrTime } from '@opentelemetry/api';
import { OUTCOMES } from '../core/recorder';
import { DURATION_BUCKETS_S, RECOVERY_BUCKETS_S, type BreakerRegistry } from '../registry';
import { VERSION } from '../version';
import { METRIC } from './names';
import { reportedOperations } from './reported-operations';

/**
 * Histograms cannot be observable instruments, so the latency and recovery histograms are
 * handed to the metric reader by this producer, straight from the breakers' bucket arrays.
 * Apps with their own NodeSDK add it to their reader: `metricProducers: [new BreakerboxMetricProducer()]`.
 */
export class BreakerboxMetricProducer implements MetricProducer {
  private readonly startTime: HrTime = hrTime();

  constructor(private readonly registry: BreakerRegistry) {}

  async collect(): Promise<CollectionResult> {
    const endTime = hrTime();
    return {
      resourceMetrics: {
        resource: emptyResource(),
        scopeMetrics: [{ scope: { name: 'breakerbox', version: VERSION }, metrics: [this.callDurations(endTime), this.recoveries(endTime)] }],
      },
      errors: [],
    };
  }

  private callDurations(endTime: HrTime): MetricData {
    const points: DataPoint<Histogram>[] = [];
    const width = DURATION_BUCKETS_S.length + 1;
    for (const entry of this.registry.list()) {
      for (const op of reportedOperations(entry)) {
        for (let o = 0; o < OUTCOMES.length; o++) {
          // Series start at zero, like the counters: Prometheus's rate()/increase() cannot count
          // the observations that made a series appear.
          const count = op.counts[o];
          points.push({
            attributes: { breaker: entry.breaker.name, module: entry.module, operation: op.name, outcome: OUTCOMES[o] },
            startTime: this.startTime,
            endTime,
            value: {
              buckets: { boundaries: DURATION_BUCKETS_S as number[], counts: Array.from(op.buckets.subarray(o * width, (o + 1) * width)) },
              sum: op.sumsS[o],
              count,
            },
          });
        }
      }
    }
    return histogram(METRIC.callDuration, 'Duration of guarded calls in seconds, by outcome', points);
  }

  private recoveries(endTime: HrTime): MetricData {
    const points: DataPoint<Histogram>[] = [];
    for (const entry of this.registry.list()) {
      const s = entry.stats;
      points.push({
        attributes: { breaker: entry.breaker.name },
        startTime: this.startTime,
        endTime,
        value: { buckets: { boundaries: RECOVERY_BUCKETS_S as number[], counts: Array.from(s.recoveryBuckets) }, sum: s.recoverySumS, count: s.recoveryCount },
      });
    }
    return histogram(METRIC.recoveryDuration, 'Time from a breaker first opening to closing again, in seconds', points);
  }
}

function histogram(name: string, description: string, dataPoints: DataPoint<Histogram>[]): MetricData {
  return {
    descriptor: { name, description, unit: '', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints,
  };
}

import { AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData } from '@opentelemetry/sdk-metrics';
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { OUTCOMES } from '../core/recorder';
import { DURATION_BUCKETS_S, RECOVERY_BUCKETS_S } from '../registry';
import { METRIC, STATES } from './names';
import type { BreakerSeries, FleetSeries } from './series';

/** The breakers of one process; `worker` labels its gauges when several processes are served together. */
export interface SeriesSource {
  worker: string | null;
  series: BreakerSeries[];
  /** Absent or null when the process runs no fleet member (fleet mode off). */
  fleet?: FleetSeries | null;
}

const DURATION_WIDTH = DURATION_BUCKETS_S.length + 1;
const LIMITED_INDEX = OUTCOMES.indexOf('limited');

/**
 * Every breakerbox family from plain series. Counters and histograms are summed over the
 * sources by their labels (the way prom-client's AggregatorRegistry sums workers); the state
 * and failure-rate gauges cannot be summed meaningfully, so each source keeps its own,
 * told apart by the bounded `worker` label.
 */
export function renderSeries(sources: SeriesSource[], startTime: HrTime, endTime: HrTime): MetricData[] {
  const state: DataPoint<number>[] = [];
  const rate: DataPoint<number>[] = [];
  const calls = new Summed<number>();
  const durations = new Summed<HistogramValue>();
  const transitions = new Summed<number>();
  const fallbacks = new Summed<number>();
  const recoveries = new Summed<HistogramValue>();
  const fleetMembers: DataPoint<number>[] = [];
  const fleetConnected: DataPoint<number>[] = [];
  const fleetOpen: DataPoint<number>[] = [];
  const baselineRate: DataPoint<number>[] = [];
  const baselineLatency: DataPoint<number>[] = [];
  const concurrencyLimit: DataPoint<number>[] = [];
  const inflight: DataPoint<number>[] = [];
  const point = <T>(attributes: Attributes, value: T): DataPoint<T> => ({ attributes, startTime, endTime, value });

  for (const { worker, series, fleet } of sources) {
    const w = worker === null ? {} : { worker };
    if (fleet) {
      // Gauges per process: each member has its own view of the fleet.
      fleetMembers.push(point({ ...w }, fleet.members));
      fleetConnected.push(point({ ...w }, fleet.connected ? 1 : 0));
      for (const o of fleet.openMembers) fleetOpen.push(point({ breaker: o.breaker, ...w }, o.count));
    }
    for (const b of series) {
      const breaker = b.breaker;
      for (const s of STATES) state.push(point({ breaker, state: s, ...w }, s === b.state ? 1 : 0));
      rate.push(point({ breaker, ...w }, b.failureRate));
      const c = b.concurrency ?? null;
      const limited = c !== null;
      if (c !== null) {
        concurrencyLimit.push(point({ breaker, ...w }, c.limit));
        inflight.push(point({ breaker, ...w }, c.inflight));
      }
      for (const op of b.operations) {
        for (let o = 0; o < OUTCOMES.length; o++) {
          // Only a breaker with a concurrency limit can refuse for it: no `limited` series for the others.
          if (o === LIMITED_INDEX && !limited) continue;
          // Series start at zero: Prometheus's rate()/increase() cannot count the
          // observations that made a series appear.
          const attrs = { breaker, module: b.module, operation: op.name, outcome: OUTCOMES[o] };
          calls.add(attrs, op.counts[o], addNumbers);
          durations.add(
            attrs,
            { buckets: op.buckets.slice(o * DURATION_WIDTH, (o + 1) * DURATION_WIDTH), sum: op.sumsS[o], count: op.counts[o] },
            addHistograms,
          );
        }
      }
      for (const t of b.transitions) transitions.add({ breaker, from: t.from, to: t.to, reason: t.reason }, t.count, addNumbers);
      fallbacks.add({ breaker, result: 'success' }, b.fallbacks.success, addNumbers);
      fallbacks.add({ breaker, result: 'failure' }, b.fallbacks.failure, addNumbers);
      recoveries.add({ breaker }, { buckets: b.recovery.buckets, sum: b.recovery.sumS, count: b.recovery.count }, addHistograms);
      // Learned baselines: only breakers that learn one have a series (absent from older workers' series).
      if (b.baselineFailureRate != null) baselineRate.push(point({ breaker, ...w }, b.baselineFailureRate));
      if (b.baselineLatencyS != null) baselineLatency.push(point({ breaker, ...w }, b.baselineLatencyS));
    }
  }
  const fleetFamilies =
    fleetMembers.length === 0
      ? []
      : [
          gauge(METRIC.fleetMembers, 'Fleet members this instance sees, itself included', fleetMembers),
          gauge(METRIC.fleetConnected, 'Whether this instance is connected to the fleet channel (NATS): 1 or 0', fleetConnected),
          gauge(METRIC.fleetOpenMembers, 'Fleet members holding the breaker open on their own evidence', fleetOpen),
        ];
  return [
    gauge(METRIC.state, 'Circuit breaker state: 1 for the current state, 0 for the others', state),
    counter(METRIC.calls, 'Guarded calls by outcome (success, failure, ignored, rejected, timeout, limited)', calls.points(point)),
    histogram(METRIC.callDuration, 'Duration of guarded calls in seconds, by outcome', DURATION_BUCKETS_S, durations.points(point)),
    counter(METRIC.transitions, 'Circuit breaker state transitions, by reason', transitions.points(point)),
    gauge(METRIC.failureRate, 'Failure rate over the rolling window, 0..1', rate),
    counter(METRIC.fallbacks, 'Fallback invocations by result', fallbacks.points(point)),
    histogram(
      METRIC.recoveryDuration,
      'Time from a breaker first opening to closing again, in seconds',
      RECOVERY_BUCKETS_S,
      recoveries.points(point),
    ),
    ...fleetFamilies,
    ...baselineFamilies(baselineRate, baselineLatency),
    ...concurrencyFamilies(concurrencyLimit, inflight),
  ];
}

/** Only when some breaker has a concurrency limit, like the fleet families. */
function concurrencyFamilies(limit: DataPoint<number>[], inflight: DataPoint<number>[]): MetricData[] {
  if (limit.length === 0) return [];
  return [
    gauge(METRIC.concurrencyLimit, 'Concurrency limit in force: guarded calls admitted at once', limit),
    gauge(METRIC.inflight, 'Guarded calls in flight against the concurrency limit', inflight),
  ];
}

/** The learned-baseline gauges, when some breaker learns one (failure_rate / slow_call_duration: auto). */
function baselineFamilies(rate: DataPoint<number>[], latency: DataPoint<number>[]): MetricData[] {
  const families: MetricData[] = [];
  if (rate.length > 0) {
    families.push(gauge(METRIC.baselineFailureRate, 'Learned failure-rate baseline of failure_rate: auto, 0..1', rate));
  }
  if (latency.length > 0) {
    families.push(gauge(METRIC.baselineLatency, 'Learned p99-ish latency baseline of slow_call_duration: auto, in seconds', latency));
  }
  return families;
}

interface HistogramValue {
  buckets: number[];
  sum: number;
  count: number;
}

const addNumbers = (a: number, b: number): number => a + b;
const addHistograms = (a: HistogramValue, b: HistogramValue): HistogramValue => ({
  buckets: a.buckets.map((n, i) => n + (b.buckets[i] ?? 0)),
  sum: a.sum + b.sum,
  count: a.count + b.count,
});

/** Values keyed by their label set, in first-seen order. */
class Summed<T> {
  private readonly byKey = new Map<string, { attributes: Attributes; value: T }>();

  add(attributes: Record<string, string>, value: T, plus: (a: T, b: T) => T): void {
    const key = Object.values(attributes).join('\u0000');
    const found = this.byKey.get(key);
    if (found) found.value = plus(found.value, value);
    else this.byKey.set(key, { attributes, value });
  }

  points(point: (attributes: Attributes, value: T) => DataPoint<T>): DataPoint<T>[] {
    return [...this.byKey.values()].map((e) => point(e.attributes, e.value));
  }
}

function descriptor(name: string, description: string): MetricData['descriptor'] {
  return { name, description, unit: '', valueType: ValueType.DOUBLE };
}

function gauge(name: string, description: string, dataPoints: DataPoint<number>[]): MetricData {
  return {
    descriptor: descriptor(name, description),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints,
  };
}

function counter(name: string, description: string, dataPoints: DataPoint<number>[]): MetricData {
  return {
    descriptor: descriptor(name, description),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints,
  };
}

function histogram(name: string, description: string, boundaries: readonly number[], values: DataPoint<HistogramValue>[]): MetricData {
  const dataPoints: DataPoint<Histogram>[] = values.map((p) => ({
    ...p,
    value: { buckets: { boundaries: boundaries as number[], counts: p.value.buckets }, sum: p.value.sum, count: p.value.count },
  }));
  return {
    descriptor: descriptor(name, description),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints,
  };
}

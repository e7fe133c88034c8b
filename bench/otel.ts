import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Candidate } from './measure';

/**
 * The naive way to instrument a call: one Counter.add and one Histogram.record with
 * attributes per call. Printed beside breakerbox to show what reading plain counters at
 * collection time saves.
 */
export function otelCandidates(one: () => Promise<number>, loop: (call: () => Promise<unknown>) => (n: number) => Promise<void>): Candidate[] {
  const provider = new MeterProvider();
  const meter = provider.getMeter('bench');
  void metrics;
  const counter = meter.createCounter('calls');
  const histogram = meter.createHistogram('duration');
  const attrs = { breaker: 'bench', outcome: 'success' };
  return [
    {
      name: 'naive OTel Counter.add + Histogram.record',
      run: loop(async () => {
        const start = performance.now();
        const v = await one();
        counter.add(1, attrs);
        histogram.record(performance.now() - start, attrs);
        return v;
      }),
    },
  ];
}

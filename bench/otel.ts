import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Candidate } from './measure';

/**
 * The naive way to instrument a call: one Counter.add and one Histogram.record with
 * attributes per call, on a MeterProvider with a real reader attached (without a reader the
 * SDK skips most of the work). Printed beside breakerbox to show what reading plain
 * counters at collection time saves.
 */
export function otelCandidates(
  one: () => Promise<number>,
  loop: (call: () => Promise<unknown>) => (n: number) => Promise<void>,
): Candidate[] {
  const reader = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [reader] });
  const meter = provider.getMeter('bench');
  const counter = meter.createCounter('calls');
  const histogram = meter.createHistogram('duration');
  return [
    {
      name: 'naive OTel Counter.add + Histogram.record',
      run: loop(async () => {
        const start = performance.now();
        const v = await one();
        const attrs = { breaker: 'bench', module: 'manual', operation: 'execute', outcome: 'success' };
        counter.add(1, attrs);
        histogram.record((performance.now() - start) / 1000, attrs);
        return v;
      }),
    },
  ];
}

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { parseConfig } from '../../../src/config';
import { BreakerRegistry } from '../../../src/registry';
import { healthOf } from '../../../src/registry/health';
import { BreakerboxMetricProducer, startTelemetry } from '../../../src/telemetry';
import { VERSION } from '../../../src/version';
import { deferred } from '../core/fake-clock';
import { findSamples, parsePrometheus, sampleValue } from '../../helpers/prometheus-text';

const CONFIG = `
circuit_breakers:
  billing:
    concurrency: {limit: 2}
  search: {}
`;

describe('telemetry: concurrency limit series and health (a real Prometheus scrape)', () => {
  let server: Server | null = null;
  let provider: MeterProvider | null = null;
  afterEach(async () => {
    const s = server;
    if (s) await new Promise((resolve) => s.close(resolve));
    await provider?.shutdown();
    server = null;
  });

  async function setUp(): Promise<{ registry: BreakerRegistry; scrape: () => Promise<string> }> {
    const registry = new BreakerRegistry();
    registry.configure(parseConfig(CONFIG, '/srv/app/breakerbox.yaml', { env: {}, cwd: '/srv/app' }));
    const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [new BreakerboxMetricProducer(registry)] });
    provider = new MeterProvider({ readers: [exporter] });
    startTelemetry({ registry, meter: provider.getMeter('breakerbox', VERSION), writeLog: () => undefined });
    const s = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    server = s;
    const { port } = s.address() as AddressInfo;
    return { registry, scrape: async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text() };
  }

  it('counts refusals as outcome="limited" and exposes the limit and the calls in flight', async () => {
    const { registry, scrape } = await setUp();
    const billing = registry.get('billing');
    registry.get('search');
    const gate = deferred<string>();
    const held = [billing.execute(() => gate.promise), billing.execute(() => gate.promise)];
    for (let i = 0; i < 3; i++) await billing.execute(async () => 'x').catch(() => undefined);

    const text = parsePrometheus(await scrape());
    expect(sampleValue(text, 'circuit_breaker_calls_total', { breaker: 'billing', outcome: 'limited' })).to.equal(3);
    expect(sampleValue(text, 'circuit_breaker_calls_total', { breaker: 'billing', outcome: 'rejected' })).to.equal(0);
    expect(sampleValue(text, 'circuit_breaker_concurrency_limit', { breaker: 'billing' })).to.equal(2);
    expect(sampleValue(text, 'circuit_breaker_inflight', { breaker: 'billing' })).to.equal(2);
    expect(text.types.get('circuit_breaker_concurrency_limit')).to.equal('gauge');
    expect(text.types.get('circuit_breaker_inflight')).to.equal('gauge');
    // A breaker without a limit has no limit series and no `limited` outcome.
    expect(findSamples(text, 'circuit_breaker_concurrency_limit', { breaker: 'search' })).to.deep.equal([]);
    expect(findSamples(text, 'circuit_breaker_calls_total', { breaker: 'search', outcome: 'limited' })).to.deep.equal([]);
    expect(sampleValue(text, 'circuit_breaker_state', { breaker: 'billing', state: 'closed' })).to.equal(1);

    expect(healthOf(registry.entry('billing')).concurrency).to.deep.equal({ limit: 2, inflight: 2 });
    expect(healthOf(registry.entry('search'))).to.not.have.property('concurrency');

    gate.resolve('done');
    await Promise.all(held);
    const after = parsePrometheus(await scrape());
    expect(sampleValue(after, 'circuit_breaker_inflight', { breaker: 'billing' })).to.equal(0);
    expect(sampleValue(after, 'circuit_breaker_calls_total', { breaker: 'billing', outcome: 'success' })).to.equal(2);
  });

  it('adds no concurrency family when no breaker has a limit', async () => {
    const { registry, scrape } = await setUp();
    registry.get('search');
    const text = parsePrometheus(await scrape());
    expect(text.types.has('circuit_breaker_concurrency_limit')).to.equal(false);
    expect(text.types.has('circuit_breaker_inflight')).to.equal(false);
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { parseConfig } from '../../../src/config';
import { BreakerRegistry, type FleetLink } from '../../../src/registry';
import { BreakerboxMetricProducer, startTelemetry } from '../../../src/telemetry';
import { VERSION } from '../../../src/version';
import { boom, FakeClock } from '../core/fake-clock';
import { findSamples, parsePrometheus, sampleValue, type Exposition } from '../../helpers/prometheus-text';

const FAMILIES: Record<string, { type: string; labels: string[] }> = {
  circuit_breaker_state: { type: 'gauge', labels: ['breaker', 'state'] },
  circuit_breaker_calls_total: { type: 'counter', labels: ['breaker', 'module', 'operation', 'outcome'] },
  circuit_breaker_call_duration_seconds: { type: 'histogram', labels: ['breaker', 'module', 'operation', 'outcome'] },
  circuit_breaker_transitions_total: { type: 'counter', labels: ['breaker', 'from', 'to', 'reason'] },
  circuit_breaker_failure_rate: { type: 'gauge', labels: ['breaker'] },
  circuit_breaker_fallbacks_total: { type: 'counter', labels: ['breaker', 'result'] },
  circuit_breaker_recovery_duration_seconds: { type: 'histogram', labels: ['breaker'] },
};

const BOUNDED_VALUES: Record<string, string[]> = {
  state: ['closed', 'open', 'half_open', 'forced_open', 'disabled'],
  from: ['closed', 'open', 'half_open', 'forced_open', 'disabled'],
  to: ['closed', 'open', 'half_open', 'forced_open', 'disabled'],
  outcome: ['success', 'failure', 'ignored', 'rejected', 'timeout'],
  result: ['success', 'failure'],
  module: ['pg', 'nats', 'ws', 'fs', 'manual'],
  // The TransitionReason union.
  reason: [
    'failure_threshold',
    'failure_rate',
    'slow_call_rate',
    'reset_timeout',
    'reconnect_failures',
    'reconnected',
    'fleet',
    'trial_failed',
    'trial_timeout',
    'trial_succeeded',
    'forced_open',
    'closed_by_operator',
    'reset',
    'disabled',
    'enabled',
  ],
};

const FLEET_FAMILIES: Record<string, { type: string; labels: string[] }> = {
  circuit_breaker_fleet_members: { type: 'gauge', labels: [] },
  circuit_breaker_fleet_connected: { type: 'gauge', labels: [] },
  circuit_breaker_fleet_open_members: { type: 'gauge', labels: ['breaker'] },
};

/** A fleet member as the registry sees it, for the pure rendering (the real one is tested over NATS). */
function fakeFleet(over: Partial<FleetLink> & { open?: Record<string, number> } = {}): FleetLink {
  const open = over.open ?? {};
  return {
    id: 'me',
    connected: true,
    members: 3,
    shared: Object.keys(open),
    status: (b) => (b in open ? { openMembers: open[b], quorum: 2, prober: null } : null),
    announceAdmin: () => false,
    ...over,
  };
}

const DURATION_LE = [
  '0.0005',
  '0.001',
  '0.0025',
  '0.005',
  '0.01',
  '0.025',
  '0.05',
  '0.1',
  '0.25',
  '0.5',
  '1',
  '2.5',
  '5',
  '10',
  '30',
  '+Inf',
];

/** The family a sample belongs to: histograms expose _bucket, _sum and _count. */
function familyOf(sampleName: string, families: Map<string, string>): string | undefined {
  if (families.has(sampleName)) return sampleName;
  const base = sampleName.replace(/_(bucket|sum|count)$/, '');
  return families.get(base) === 'histogram' ? base : undefined;
}

/**
 * One breakerbox setup as the preload builds it: a registry, the observable instruments on a
 * MeterProvider read by a PrometheusExporter that is not listening, and the histogram producer.
 * `scrape()` goes through the exporter's own request handler, as GET /metrics does.
 */
class MetricsHarness {
  readonly registry = new BreakerRegistry();
  private readonly exporter = new PrometheusExporter({
    preventServerStart: true,
    metricProducers: [new BreakerboxMetricProducer(this.registry)],
  });
  private readonly provider = new MeterProvider({ readers: [this.exporter] });
  private server: Server | null = null;

  constructor(configYaml?: string) {
    if (configYaml !== undefined)
      this.registry.configure(parseConfig(configYaml, '/srv/app/breakerbox.yaml', { env: {}, cwd: '/srv/app' }));
    startTelemetry({ registry: this.registry, meter: this.provider.getMeter('breakerbox', VERSION), writeLog: () => undefined });
  }

  async scrape(): Promise<{ text: string; exposition: Exposition }> {
    if (this.server === null) {
      const server = createServer((req, res) => this.exporter.getMetricsRequestHandler(req, res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.server = server;
    }
    const { port } = this.server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).to.equal(200);
    const text = await res.text();
    return { text, exposition: parsePrometheus(text) };
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server) await new Promise((resolve) => server.close(resolve));
    await this.provider.shutdown();
  }
}

describe('telemetry: metrics as Prometheus sees them', () => {
  let h: MetricsHarness;
  afterEach(() => h?.close());

  it('exposes exactly the series DESIGN.md lists, with their types', async () => {
    h = new MetricsHarness();
    const clock = new FakeClock();
    const b = h.registry.get('auth', { failureThreshold: 1, resetTimeoutMs: 1_000, now: clock.now, fallback: () => 'cached' });
    await b.execute(() => Promise.reject(boom()));
    clock.advance(1_000);
    await b.execute(async () => 'ok');

    const { text, exposition } = await h.scrape();
    const ours = [...exposition.types].filter(([name]) => name.startsWith('circuit_breaker'));
    expect(Object.fromEntries(ours)).to.deep.equal(Object.fromEntries(Object.entries(FAMILIES).map(([n, f]) => [n, f.type])));
    for (const family of Object.keys(FAMILIES)) expect(text).to.include(`\n${family}`);
    // Nothing else of ours: every sample is target_info or one of the families above.
    for (const s of exposition.samples) {
      if (s.name === 'target_info') continue;
      expect(familyOf(s.name, exposition.types), s.name).to.be.oneOf(Object.keys(FAMILIES));
    }
  });

  it("labels every series only with its documented, bounded labels (plus the exporter's otel_scope_*)", async () => {
    h = new MetricsHarness('api:\n  per_target: true\n  failure_threshold: 1\n');
    const clock = new FakeClock();
    const auth = h.registry.get('auth', { failureThreshold: 1, resetTimeoutMs: 1_000, now: clock.now, fallback: () => 'cached' });
    await auth.execute(() => Promise.reject(boom('SELECT * FROM users WHERE id = 42')));
    await auth.execute(async () => 'x');
    clock.advance(1_000);
    await auth.execute(async () => 'ok');
    const child = h.registry.child('api', 'https://pay.example.com:8443').breaker;
    await child.execute(() => Promise.reject(boom())).catch(() => undefined);

    const { exposition } = await h.scrape();
    const checked = exposition.samples.filter((s) => s.name !== 'target_info');
    expect(checked.length).to.be.greaterThan(20);
    for (const s of checked) {
      const family = familyOf(s.name, exposition.types)!;
      const allowed = [...FAMILIES[family].labels, ...(s.name.endsWith('_bucket') ? ['le'] : [])];
      const keys = Object.keys(s.labels).filter((k) => !k.startsWith('otel_scope_'));
      expect(keys.sort(), `${s.name} ${JSON.stringify(s.labels)}`).to.deep.equal(allowed.sort());
      for (const [k, v] of Object.entries(s.labels)) {
        if (BOUNDED_VALUES[k]) expect(v, `${s.name} ${k}`).to.be.oneOf(BOUNDED_VALUES[k]);
      }
      expect(s.labels.breaker).to.be.oneOf(['auth', 'api', 'api@https://pay.example.com:8443']);
    }
    expect(JSON.stringify(checked)).to.not.include('SELECT');
  });

  it('reports the state as a one-hot gauge that follows the breaker', async () => {
    h = new MetricsHarness();
    const b = h.registry.get('auth', { failureThreshold: 1 });
    const hot = async (): Promise<Record<string, number>> => {
      const { exposition } = await h.scrape();
      return Object.fromEntries(
        findSamples(exposition, 'circuit_breaker_state', { breaker: 'auth' }).map((s) => [s.labels.state, s.value]),
      );
    };
    expect(await hot()).to.deep.equal({ closed: 1, open: 0, half_open: 0, forced_open: 0, disabled: 0 });
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    expect(await hot()).to.deep.equal({ closed: 0, open: 1, half_open: 0, forced_open: 0, disabled: 0 });
    b.forceOpen();
    expect(await hot()).to.deep.equal({ closed: 0, open: 0, half_open: 0, forced_open: 1, disabled: 0 });
    b.disable();
    expect(await hot()).to.deep.equal({ closed: 0, open: 0, half_open: 0, forced_open: 0, disabled: 1 });
  });

  it('counts calls by outcome exactly as they were made, in the counter and the histogram', async () => {
    h = new MetricsHarness();
    const b = h.registry.get('auth', { failureThreshold: 3, isFailure: (err) => (err as Error).message !== 'bad input' });
    for (let i = 0; i < 4; i++) await b.execute(async () => i);
    await b.execute(() => Promise.reject(boom('bad input'))).catch(() => undefined);
    for (let i = 0; i < 3; i++) await b.execute(() => Promise.reject(boom('down'))).catch(() => undefined);
    for (let i = 0; i < 2; i++) await b.execute(async () => i).catch(() => undefined);

    const { exposition } = await h.scrape();
    const expected = { success: 4, ignored: 1, failure: 3, rejected: 2, timeout: 0 };
    for (const [outcome, n] of Object.entries(expected)) {
      const labels = { breaker: 'auth', module: 'manual', operation: 'execute', outcome };
      expect(sampleValue(exposition, 'circuit_breaker_calls_total', labels), outcome).to.equal(n);
      const counts = findSamples(exposition, 'circuit_breaker_call_duration_seconds_count', labels);
      // Every outcome has its series from the start (at zero), so rate() counts the first calls.
      expect(
        counts.map((s) => s.value),
        outcome,
      ).to.deep.equal([n]);
    }
    expect(sampleValue(exposition, 'circuit_breaker_transitions_total', { breaker: 'auth', from: 'closed', to: 'open' })).to.equal(1);
  });

  it('puts call durations in buckets from 0.5 ms to 30 s', async () => {
    h = new MetricsHarness();
    const clock = new FakeClock();
    const b = h.registry.get('auth', { now: clock.now });
    for (const ms of [0.2, 3, 2_000, 45_000]) {
      await b.execute(async () => {
        clock.advance(ms);
      });
    }
    const { exposition } = await h.scrape();
    const buckets = findSamples(exposition, 'circuit_breaker_call_duration_seconds_bucket', { breaker: 'auth', outcome: 'success' });
    expect(buckets.map((s) => s.labels.le)).to.deep.equal(DURATION_LE);
    const cumulative = Object.fromEntries(buckets.map((s) => [s.labels.le, s.value]));
    expect(cumulative).to.include({ '0.0005': 1, '0.0025': 1, '0.005': 2, '1': 2, '2.5': 3, '30': 3, '+Inf': 4 });
    const sum = sampleValue(exposition, 'circuit_breaker_call_duration_seconds_sum', { breaker: 'auth', outcome: 'success' });
    expect(sum).to.be.closeTo(47.0032, 1e-6);
  });

  it('counts transitions by from/to, fallbacks by result, and recoveries in the recovery histogram', async () => {
    h = new MetricsHarness();
    const clock = new FakeClock();
    let fallbackFails = false;
    const b = h.registry.get('auth', {
      failureThreshold: 1,
      resetTimeoutMs: 10_000,
      now: clock.now,
      fallback: () => {
        if (fallbackFails) throw boom('fallback broke');
        return 'cached';
      },
    });
    await b.execute(() => Promise.reject(boom()));
    await b.execute(async () => 'x');
    fallbackFails = true;
    await b.execute(async () => 'x').catch(() => undefined);
    clock.advance(10_000);
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    clock.advance(10_000);
    await b.execute(async () => 'ok');

    const { exposition } = await h.scrape();
    const transitions = Object.fromEntries(
      findSamples(exposition, 'circuit_breaker_transitions_total', { breaker: 'auth' }).map((s) => [
        `${s.labels.from}>${s.labels.to}`,
        s.value,
      ]),
    );
    expect(transitions).to.deep.equal({ 'closed>open': 1, 'open>half_open': 2, 'half_open>open': 1, 'half_open>closed': 1 });
    expect(sampleValue(exposition, 'circuit_breaker_fallbacks_total', { breaker: 'auth', result: 'success' })).to.equal(2);
    expect(sampleValue(exposition, 'circuit_breaker_fallbacks_total', { breaker: 'auth', result: 'failure' })).to.equal(2);
    expect(sampleValue(exposition, 'circuit_breaker_recovery_duration_seconds_count', { breaker: 'auth' })).to.equal(1);
    expect(sampleValue(exposition, 'circuit_breaker_recovery_duration_seconds_sum', { breaker: 'auth' })).to.equal(20);
    expect(sampleValue(exposition, 'circuit_breaker_recovery_duration_seconds_bucket', { breaker: 'auth', le: '10' })).to.equal(0);
    expect(sampleValue(exposition, 'circuit_breaker_recovery_duration_seconds_bucket', { breaker: 'auth', le: '30' })).to.equal(1);
  });

  it("counts transitions by reason too, so an opening through the fleet is told apart from the instance's own", async () => {
    h = new MetricsHarness();
    const own = h.registry.get('db', { failureThreshold: 1 });
    const idle = h.registry.get('cache', { failureThreshold: 1 });
    await own.execute(() => Promise.reject(boom())).catch(() => undefined);
    idle.actOnEvidence(false, 'fleet');
    h.registry.get('cache').forceOpen();

    const { exposition } = await h.scrape();
    const byReason = (breaker: string): Record<string, number> =>
      Object.fromEntries(
        findSamples(exposition, 'circuit_breaker_transitions_total', { breaker }).map((s) => [
          `${s.labels.from}>${s.labels.to}:${s.labels.reason}`,
          s.value,
        ]),
      );
    expect(byReason('db')).to.deep.equal({ 'closed>open:failure_threshold': 1 });
    expect(byReason('cache')).to.deep.equal({ 'closed>open:fleet': 1, 'open>forced_open:forced_open': 1 });
  });

  it('with fleet mode on, reports the members it sees, whether it is connected, and who holds each shared breaker open', async () => {
    h = new MetricsHarness();
    h.registry.get('database');
    const before = await h.scrape();
    for (const family of Object.keys(FLEET_FAMILIES))
      expect(before.exposition.types.has(family), `${family} without fleet mode`).to.equal(false);

    h.registry.fleet = fakeFleet({ members: 4, open: { database: 2, queue: 0 } });
    const { exposition } = await h.scrape();
    for (const [family, f] of Object.entries(FLEET_FAMILIES)) {
      expect(exposition.types.get(family), family).to.equal(f.type);
      for (const s of findSamples(exposition, family, {})) {
        expect(
          Object.keys(s.labels)
            .filter((k) => !k.startsWith('otel_scope_'))
            .sort(),
          family,
        ).to.deep.equal(f.labels);
      }
    }
    expect(sampleValue(exposition, 'circuit_breaker_fleet_members', {})).to.equal(4);
    expect(sampleValue(exposition, 'circuit_breaker_fleet_connected', {})).to.equal(1);
    expect(sampleValue(exposition, 'circuit_breaker_fleet_open_members', { breaker: 'database' })).to.equal(2);
    expect(sampleValue(exposition, 'circuit_breaker_fleet_open_members', { breaker: 'queue' })).to.equal(0);

    h.registry.fleet = fakeFleet({ connected: false, members: 1, open: { database: 1 } });
    const lost = (await h.scrape()).exposition;
    expect(sampleValue(lost, 'circuit_breaker_fleet_connected', {})).to.equal(0);
    expect(sampleValue(lost, 'circuit_breaker_fleet_members', {})).to.equal(1);
  });

  it('reports the failure rate over the rolling window', async () => {
    h = new MetricsHarness();
    const b = h.registry.get('auth', { failureThreshold: 0, failureRate: 0.9, windowSize: 10, minimumCalls: 10 });
    for (let i = 0; i < 3; i++) await b.execute(async () => i);
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    const { exposition } = await h.scrape();
    expect(sampleValue(exposition, 'circuit_breaker_failure_rate', { breaker: 'auth' })).to.equal(0.25);
  });

  it('reports learned baselines only for breakers that learn them (failure_rate / slow_call_duration: auto)', async () => {
    h = new MetricsHarness('payments:\n  failure_rate: auto\n  slow_call_duration: auto\n  window_size: 100\n');
    const clock = new FakeClock();
    const b = h.registry.get('payments', { now: clock.now });
    h.registry.get('auth', { failureThreshold: 3 });
    for (let i = 0; i < 200; i++) {
      clock.advance(10);
      await b
        .execute(async () => {
          clock.advance(40);
          if (i % 20 === 19) throw boom();
        })
        .catch(() => undefined);
    }
    const { exposition } = await h.scrape();
    expect(exposition.types.get('circuit_breaker_baseline_failure_rate')).to.equal('gauge');
    expect(exposition.types.get('circuit_breaker_baseline_latency_seconds')).to.equal('gauge');
    expect(sampleValue(exposition, 'circuit_breaker_baseline_failure_rate', { breaker: 'payments' })).to.be.closeTo(0.05, 1e-4);
    expect(sampleValue(exposition, 'circuit_breaker_baseline_latency_seconds', { breaker: 'payments' })).to.be.closeTo(0.04, 1e-6);
    expect(findSamples(exposition, 'circuit_breaker_baseline_failure_rate', { breaker: 'auth' })).to.deep.equal([]);
    for (const s of findSamples(exposition, 'circuit_breaker_baseline_latency_seconds', {})) {
      expect(Object.keys(s.labels).filter((k) => !k.startsWith('otel_scope_'))).to.deep.equal(['breaker']);
    }
  });

  it('drops the series of an evicted per-target child instead of growing without bound', async () => {
    h = new MetricsHarness('api:\n  per_target: true\n  max_targets: 2\n');
    for (let i = 0; i < 50; i++) await h.registry.child('api', `host-${i}`).breaker.execute(async () => i);
    const { exposition } = await h.scrape();
    const breakers = new Set(findSamples(exposition, 'circuit_breaker_state').map((s) => s.labels.breaker));
    expect([...breakers].sort()).to.deep.equal(['api', 'api@host-48', 'api@host-49']);
  });

  it('drops evicted children from every family even when they were scraped while alive, so all families show the same breakers', async () => {
    h = new MetricsHarness('api:\n  per_target: true\n  max_targets: 2\n');
    let first = '';
    for (let i = 0; i < 30; i++) {
      await h.registry.child('api', `host-${i}`).breaker.execute(async () => i);
      const { text } = await h.scrape();
      if (i === 1) first = text;
    }
    const { text, exposition } = await h.scrape();
    const live = ['api', 'api@host-28', 'api@host-29'];
    expect(
      h.registry
        .list()
        .map((e) => e.breaker.name)
        .sort(),
    ).to.deep.equal(live);
    for (const family of [
      'circuit_breaker_state',
      'circuit_breaker_failure_rate',
      'circuit_breaker_fallbacks_total',
      'circuit_breaker_recovery_duration_seconds_count',
    ]) {
      const breakers = new Set(findSamples(exposition, family).map((s) => s.labels.breaker));
      expect([...breakers].sort(), family).to.deep.equal(live);
    }
    // The parent carries no calls of its own with per_target: children's call series only.
    for (const family of ['circuit_breaker_calls_total', 'circuit_breaker_call_duration_seconds_count']) {
      const breakers = new Set(findSamples(exposition, family).map((s) => s.labels.breaker));
      expect([...breakers].sort(), family).to.deep.equal(['api@host-28', 'api@host-29']);
    }
    // Two live children after 30 origins weigh what two live children weighed after 2.
    expect(text.split('\n').length).to.equal(first.split('\n').length);
  });
});

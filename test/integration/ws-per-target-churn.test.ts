/**
 * Many WebSocket origins that come and go, with a small per-target table: real ws clients
 * connecting to 1,000 origins, scraped through the real Prometheus exporter as they churn.
 * Each origin is its own host name (`o17.test`) that the client's `lookup` resolves to
 * loopback: a third of them on a port nothing listens on (refused), the rest on a live ws
 * server. One more origin, always healthy, is checked along the way.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { healthOf } from '../../src/registry';
import { createMonitoringServer } from '../../src/server/monitoring-server';
import { BreakerboxMetricProducer } from '../../src/telemetry';
import { eventually } from '../helpers/eventually';
import { freePort } from '../helpers/free-port';
import { closedPort, startWsServer, type WsServerPeer } from '../helpers/ws-peers';
import { findSamples, parsePrometheus } from '../helpers/prometheus-text';
import { attempt, guardWs, wsBreakerYaml, type GuardedWs } from '../fixtures/ws/harness';

const ORIGINS = 1000;
const MAX_TARGETS = 4;

describe('ws per-target breakers under origin churn', function () {
  this.timeout(120_000);
  let g: GuardedWs | undefined;
  let live: WsServerPeer | undefined;
  let server: Server | undefined;
  let provider: MeterProvider | undefined;

  afterEach(async () => {
    g?.instrumentation.disable();
    await live?.close();
    if (server) await new Promise((resolve) => server!.close(resolve));
    await provider?.shutdown();
    g = live = server = provider = undefined;
  });

  it('never refuses a healthy origin for dead ones, and keeps the table, the series and /metrics bounded over 1,000 origins', async () => {
    g = guardWs(wsBreakerYaml({ failure_threshold: 1, timeout: '1m', per_target: true, max_targets: MAX_TARGETS }));
    const registry = g.registry;
    const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [new BreakerboxMetricProducer(registry)] });
    provider = new MeterProvider({ readers: [exporter] });
    server = createServer((req, res) => exporter.getMetricsRequestHandler(req, res));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const metricsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    const scrape = async (): Promise<string> => (await fetch(metricsUrl)).text();

    live = await startWsServer();
    const dead = await closedPort();
    const deadOrigin = (i: number): string => `ws://o${i}.test:${dead}/`;
    const liveOrigin = (i: number): string => `ws://o${i}.test:${live!.port}/`;
    const lookup = ((_host: string, opts: { all?: boolean }, cb: (err: null, address: unknown, family?: number) => void) =>
      opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)) as never;

    // A table full of tripped children first: the state the issue found refusing healthy origins.
    for (let i = 0; i < MAX_TARGETS; i++) {
      expect((await attempt(g.WebSocket, deadOrigin(i), { lookup } as never)).events).to.deep.equal(['error:ECONNREFUSED', 'close:1006']);
    }
    expect((await attempt(g.WebSocket, live.url)).events).to.deep.equal(['open', 'close:1005']);
    const before = await scrape();

    let refusedHealthy = 0;
    for (let i = MAX_TARGETS; i < ORIGINS; i++) {
      // A new origin has a breaker of its own that has not failed yet: its one connect reaches the network.
      const down = i % 3 === 0;
      const out = await attempt(g.WebSocket, down ? deadOrigin(i) : liveOrigin(i), { lookup } as never);
      expect(out.events, `origin ${i}`).to.deep.equal(down ? ['error:ECONNREFUSED', 'close:1006'] : ['open', 'close:1005']);
      if (i % 50 === 0) {
        if ((await attempt(g.WebSocket, live.url)).events[0] !== 'open') refusedHealthy++;
        await scrape();
      }
    }
    const after = await scrape();
    process.stdout.write(
      `      /metrics: ${before.length} bytes, ${before.split('\n').length} lines after ${MAX_TARGETS + 1} origins; ` +
        `${after.length} bytes, ${after.split('\n').length} lines after ${ORIGINS + 1}\n`,
    );

    expect(refusedHealthy, 'connects to the healthy origin refused').to.equal(0);
    expect(registry.get('websocket').state).to.equal('closed');
    expect(registry.list().length).to.equal(1 + MAX_TARGETS);
    const names = registry
      .list()
      .map((e) => e.breaker.name)
      .sort();
    const exposition = parsePrometheus(after);
    for (const family of [
      'circuit_breaker_state',
      'circuit_breaker_calls_total',
      'circuit_breaker_call_duration_seconds_count',
      'circuit_breaker_transitions_total',
    ]) {
      const shown = [...new Set(findSamples(exposition, family).map((s) => s.labels.breaker))].sort();
      expect(
        shown.every((n) => names.includes(n)),
        `${family}: ${shown.join(', ')}`,
      ).to.equal(true);
      expect(shown.length, family).to.be.at.most(1 + MAX_TARGETS);
    }
    // The parent rolls up what its table holds now: the dead origins still there refuse calls.
    const parent = healthOf(registry.entry('websocket'), registry);
    const deadInTable = registry
      .childrenOf('websocket')
      .filter((c) => c.breaker.state === 'open')
      .map((c) => c.target);
    expect(deadInTable.length).to.be.greaterThan(0);
    expect(parent.targets?.refusing.sort()).to.deep.equal(deadInTable.sort());
    expect(parent.targets?.worstState).to.equal('open');
    // Bounded: the same number of live breakers weighs about the same, whatever the churn.
    expect(after.split('\n').length).to.be.at.most(before.split('\n').length + 40);
  });

  it('stops answering 503 for an origin nobody connects to any more once its retry time has passed', async () => {
    g = guardWs(wsBreakerYaml({ failure_threshold: 1, timeout: '1s', per_target: true }));
    const registry = g.registry;
    const port = await freePort();
    const monitoring = createMonitoringServer({ registry, metricsHandler: null, adminToken: undefined, host: '127.0.0.1', port });
    await monitoring.listen();
    try {
      const health = async (): Promise<number> => (await fetch(`http://127.0.0.1:${port}/health/circuit-breakers`)).status;
      const url = `ws://127.0.0.1:${await closedPort()}/`;
      expect((await attempt(g.WebSocket, url)).events).to.deep.equal(['error:ECONNREFUSED', 'close:1006']);
      expect(await health()).to.equal(503);
      // The app never connects there again: no call will ever move the breaker.
      await eventually('health back to 200 with no traffic', 10_000, async () => ((await health()) === 200 ? true : undefined));
      expect(healthOf(registry.entry(g.childFor(url)), registry)).to.include({ state: 'open', refusing: false, retryAfterMs: 0 });
      // The next connect is the trial, and it reaches the network.
      expect((await attempt(g.WebSocket, url)).events).to.deep.equal(['error:ECONNREFUSED', 'close:1006']);
      expect(await health()).to.equal(503);
    } finally {
      await monitoring.close();
    }
  });
});

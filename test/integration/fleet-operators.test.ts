/**
 * Fleet mode as operators see it, over a real private nats-server with several members in
 * one test process (each with its own registry, breakers, NATS connection and monitoring
 * port): health JSON, /metrics, and admin actions with `?scope=fleet`.
 */
import { expect } from 'chai';
import { parseConfig } from '../../src/config';
import { startFleetMember, type FleetMember } from '../../src/fleet/member';
import { BreakerRegistry } from '../../src/registry';
import { createMonitoringServer, type MonitoringServer } from '../../src/server/monitoring-server';
import { BreakerboxMetricProducer } from '../../src/telemetry';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { freePort } from '../helpers/free-port';
import { requireNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';
import { parsePrometheus, sampleValue } from '../helpers/prometheus-text';
import { eventually } from '../fixtures/nats/harness';

const TOKEN = 'fleet-admin-token';

function fleetYaml(url: string, fleet: string): string {
  return `
circuit_breakers:
  database:
    failure_threshold: 1
    timeout: 30
  cache:
    failure_threshold: 1
  fleet:
    enabled: true
    url: ${url}
    name: ${fleet}
    quorum: 2
    heartbeat: 200ms
    breakers: [database]
`;
}

function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
}

interface Instance {
  id: string;
  registry: BreakerRegistry;
  member: FleetMember;
  base: string;
  state(name?: string): string;
  fail(): Promise<void>;
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  post(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  metrics(): Promise<string>;
}

describe('fleet mode as operators see it (health, metrics, admin scope=fleet)', function () {
  let srv: PrivateNats;
  let nats: typeof import('nats');
  const members: FleetMember[] = [];
  const servers: MonitoringServer[] = [];
  const providers: MeterProvider[] = [];
  let fleetNo = 0;

  before(async function () {
    requireNatsServer(this);
    srv = await startPrivateNats();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    nats = require('nats') as typeof import('nats');
  });
  afterEach(async () => {
    await Promise.all(members.splice(0).map((m) => m.stop()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await Promise.all(providers.splice(0).map((p) => p.shutdown()));
    if (!srv.running) await srv.start();
  });
  after(() => srv?.cleanup());

  async function instances(n: number): Promise<Instance[]> {
    const name = `ops${++fleetNo}`;
    const out: Instance[] = [];
    for (let i = 0; i < n; i++) {
      const id = `m${i}`;
      const config = parseConfig(fleetYaml(srv.url, name), 'test.yaml');
      const registry = new BreakerRegistry(config);
      registry.entry('database');
      registry.entry('cache');
      const member = startFleetMember({ config: config.fleet, registry, connect: nats.connect, selfId: id });
      members.push(member);
      const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [new BreakerboxMetricProducer(registry)] });
      providers.push(new MeterProvider({ readers: [exporter] }));
      const port = await freePort();
      const server = createMonitoringServer({
        registry,
        metricsHandler: (req, res) => exporter.getMetricsRequestHandler(req, res),
        adminToken: TOKEN,
        host: '127.0.0.1',
        port,
      });
      await server.listen();
      servers.push(server);
      const base = `http://127.0.0.1:${port}`;
      const call = async (path: string, init: RequestInit) => {
        const res = await fetch(base + path, init);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      out.push({
        id,
        registry,
        member,
        base,
        state: (b = 'database') => registry.entry(b).breaker.state,
        fail: async () => {
          await registry
            .entry('database')
            .breaker.execute(() => Promise.reject(refused()))
            .catch(() => undefined);
        },
        get: (path) => call(path, {}),
        post: (path) => call(path, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } }),
        metrics: async () => (await fetch(`${base}/metrics`)).text(),
      });
    }
    await eventually(`every member to see ${n}`, () => out.every((x) => x.member.coordinator.view.memberCount === n));
    return out;
  }

  it('health JSON of a shared breaker shows members, members open on their own evidence, quorum and the prober', async () => {
    const [a, b, c] = await instances(3);
    const fleetOf = async (x: Instance) => (await x.get('/health/circuit-breakers/database')).body.fleet;
    expect(await fleetOf(c)).to.deep.equal({ members: 3, open_members: 0, quorum: 2, prober: null });
    // A breaker the fleet does not share says nothing of the fleet.
    expect((await c.get('/health/circuit-breakers/cache')).body).to.not.have.property('fleet');

    await a.fail();
    await b.fail();
    await eventually('c to open through the fleet', () => c.state() === 'open');
    await eventually('every member to have heard both', () =>
      [a, b, c].every((x) => x.member.coordinator.view.ownOpenCount('database') === 2),
    );
    const seen = await Promise.all([a, b, c].map(fleetOf));
    for (const f of seen) expect(f).to.include({ members: 3, open_members: 2, quorum: 2 });
    // One prober, the same on every member, and one of the members holding it open.
    const probers = new Set(seen.map((f) => (f as { prober: string }).prober));
    expect(probers.size, JSON.stringify(seen)).to.equal(1);
    expect([...probers][0]).to.be.oneOf(['m0', 'm1', 'm2']);
    const all = (await c.get('/health/circuit-breakers')).body.breakers as { name: string; fleet?: unknown }[];
    expect(all.find((x) => x.name === 'database')?.fleet).to.include({ open_members: 2 });
  });

  it('/metrics shows the fleet: members, connected, open members per shared breaker, and transitions with reason fleet', async () => {
    const [a, b, c] = await instances(3);
    await a.fail();
    await b.fail();
    await eventually('c to open through the fleet', () => c.state() === 'open');
    await eventually('c to have heard both', () => c.member.coordinator.view.ownOpenCount('database') === 2);
    const m = parsePrometheus(await c.metrics());
    expect(sampleValue(m, 'circuit_breaker_fleet_members')).to.equal(3);
    expect(sampleValue(m, 'circuit_breaker_fleet_connected')).to.equal(1);
    expect(sampleValue(m, 'circuit_breaker_fleet_open_members', { breaker: 'database' })).to.equal(2);
    expect(
      sampleValue(m, 'circuit_breaker_transitions_total', { breaker: 'database', from: 'closed', to: 'open', reason: 'fleet' }),
    ).to.equal(1);
    const own = parsePrometheus(await a.metrics());
    expect(
      sampleValue(own, 'circuit_breaker_transitions_total', {
        breaker: 'database',
        from: 'closed',
        to: 'open',
        reason: 'failure_threshold',
      }),
    ).to.equal(1);

    await srv.kill();
    await eventually('c to notice it lost the fleet channel', () => !c.member.transport.connected, 5000);
    const lost = parsePrometheus(await c.metrics());
    expect(sampleValue(lost, 'circuit_breaker_fleet_connected')).to.equal(0);
  });

  it('POST open?scope=fleet forces the breaker open on every member; close?scope=fleet closes it everywhere', async () => {
    const [a, b, c] = await instances(3);
    const opened = await a.post('/circuit-breakers/database/open?scope=fleet');
    expect(opened.status, JSON.stringify(opened.body)).to.equal(200);
    expect(opened.body).to.include({ breaker: 'database', action: 'open', scope: 'fleet', members: 3, state: 'forced_open' });
    await eventually('every member forced open', () => [a, b, c].every((x) => x.state() === 'forced_open'));
    // Not shared breakers are untouched.
    expect([a, b, c].map((x) => x.state('cache'))).to.deep.equal(['closed', 'closed', 'closed']);

    const closed = await b.post('/circuit-breakers/database/close?scope=fleet');
    expect(closed.status, JSON.stringify(closed.body)).to.equal(200);
    await eventually('every member closed', () => [a, b, c].every((x) => x.state() === 'closed'));
  });

  it('without scope an admin action stays on the instance it was sent to', async () => {
    const [a, b] = await instances(2);
    expect((await a.post('/circuit-breakers/database/open')).status).to.equal(200);
    expect(a.state()).to.equal('forced_open');
    // Give an announcement (if one were wrongly sent) several heartbeats to arrive.
    await new Promise((r) => setTimeout(r, 600));
    expect(b.state()).to.equal('closed');
  });

  it('refuses scope=fleet with a clear message when it cannot act fleet-wide, and does nothing', async () => {
    const [a, b] = await instances(2);
    const notShared = await a.post('/circuit-breakers/cache/open?scope=fleet');
    expect(notShared.status).to.equal(400);
    expect(String(notShared.body.error)).to.include('does not share "cache"').and.include('fleet.breakers');
    const reset = await a.post('/circuit-breakers/database/reset?scope=fleet');
    expect(reset.status).to.equal(400);
    expect(String(reset.body.error)).to.include('fleet-wide actions are open, close');
    const badScope = await a.post('/circuit-breakers/database/open?scope=everywhere');
    expect(badScope.status).to.equal(400);
    expect(String(badScope.body.error)).to.include('scope="everywhere"').and.include('expected fleet');

    await srv.kill();
    await eventually('a to notice NATS is gone', () => !a.member.transport.connected, 5000);
    const down = await a.post('/circuit-breakers/database/open?scope=fleet');
    expect(down.status).to.equal(503);
    expect(String(down.body.error)).to.include('not connected to the fleet channel');
    expect([a.state(), a.state('cache'), b.state()]).to.deep.equal(['closed', 'closed', 'closed']);
  });
});

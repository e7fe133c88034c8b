/**
 * Fleet mode over a real, private nats-server: several members in one test process, each with
 * its own registry, breakers and NATS connection, exactly as separate instances would be.
 * The server is killed and restarted for real.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { parseConfig } from '../../src/config';
import { startFleetMember, type FleetMember } from '../../src/fleet/member';
import { BreakerRegistry } from '../../src/registry';
import { requireNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';
import { eventually, instrumentNats, type NatsHarness } from '../fixtures/nats/harness';

const HEARTBEAT = '200ms';

function fleetYaml(url: string, fleet: string, extra = '', timeout = '30'): string {
  return `
circuit_breakers:
  database:
    failure_threshold: 1
    timeout: ${timeout}
  fleet:
    enabled: true
    url: ${url}
    name: ${fleet}
    quorum: 2
    heartbeat: ${HEARTBEAT}
${extra}`;
}

/** What a refused pg connection looks like: counted by the database breaker's classifier. */
function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
}

interface Instance {
  registry: BreakerRegistry;
  member: FleetMember;
  database(): string;
  reason(): string | undefined;
  /** A user call that fails against the dead database (and opens this instance's breaker). */
  fail(): Promise<void>;
}

describe('fleet mode over NATS', function () {
  let srv: PrivateNats;
  let nats: typeof import('nats');
  const running: FleetMember[] = [];
  let fleetNo = 0;

  before(async function () {
    requireNatsServer(this);
    srv = await startPrivateNats();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    nats = require('nats') as typeof import('nats');
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((m) => m.stop()));
    if (!srv.running) await srv.start();
  });
  after(() => srv?.cleanup());

  function instances(n: number, timeout?: string): Instance[] {
    const name = `fleet${++fleetNo}`;
    return Array.from({ length: n }, (_, i) => {
      const config = parseConfig(fleetYaml(srv.url, name, '', timeout), 'test.yaml');
      const registry = new BreakerRegistry(config);
      registry.entry('database');
      const member = startFleetMember({ config: config.fleet, registry, connect: nats.connect, selfId: `m${i}` });
      running.push(member);
      const b = () => registry.entry('database').breaker;
      return {
        registry,
        member,
        database: () => b().state,
        reason: () => b().lastTransition?.reason,
        fail: async () => {
          await b()
            .execute(() => Promise.reject(refused()))
            .catch(() => undefined);
        },
      };
    });
  }

  const members = (i: Instance) => i.member.coordinator.view.memberCount;
  const allSee = (list: Instance[], n: number) => eventually(`every member to see ${n} members`, () => list.every((i) => members(i) === n));

  it('members find each other through heartbeats', async () => {
    const fleet = instances(3);
    await allSee(fleet, 3);
    expect(fleet.map((i) => i.member.transport.connected)).to.deep.equal([true, true, true]);
  });

  it('when 2 members open on their own evidence, the idle ones open with reason fleet without failing a call', async () => {
    const [a, b, c, d] = instances(4);
    await allSee([a, b, c, d], 4);
    await a.fail();
    await b.fail();
    await eventually('the idle members to open', () => c.database() === 'open' && d.database() === 'open');
    expect([c.reason(), d.reason()]).to.deep.equal(['fleet', 'fleet']);
    expect(c.registry.entry('database').stats.totals().failure ?? 0, 'c failed no user call').to.equal(0);
    // An idle instance's user call is now refused at once, without touching the database.
    let touched = false;
    const err = await c.registry
      .entry('database')
      .breaker.execute(async () => {
        touched = true;
      })
      .catch((e: { code?: string }) => e);
    expect((err as { code?: string }).code).to.equal('ECIRCUITOPEN');
    expect(touched).to.equal(false);
  });

  it('one member open on its own evidence never opens the others', async () => {
    const [a, b, c] = instances(3);
    await allSee([a, b, c], 3);
    await a.fail();
    // Each report is acted on as it arrives: once the others have heard it, they have decided.
    await eventually('the others to hear of it', () => [b, c].every((i) => i.member.coordinator.view.ownOpenCount('database') === 1));
    await sleep(600);
    expect([b.database(), c.database()]).to.deep.equal(['closed', 'closed']);
  });

  it('a member that leaves cleanly is gone at once; a silent one after 3 missed heartbeats', async () => {
    const [a, b, c] = instances(3);
    await allSee([a, b, c], 3);
    await c.member.stop();
    await eventually('a and b to see c leave', () => members(a) === 2 && members(b) === 2, 1000);
    // b goes silent without a goodbye: its beats stop, its connection stays open.
    b.member.coordinator.stop();
    (b.member.transport as unknown as { send: () => void }).send = () => undefined;
    await eventually('a to drop the silent member', () => members(a) === 1, 3000);
  });

  it('with NATS killed, breakers keep working on their own evidence; members rejoin when it is back', async () => {
    const [a, b, c] = instances(3);
    await allSee([a, b, c], 3);
    await srv.kill();
    await eventually('each member alone', () => [a, b, c].every((i) => members(i) === 1 && !i.member.transport.connected), 5000);
    await a.fail();
    await b.fail();
    expect(a.database(), 'local evidence still opens').to.equal('open');
    expect(c.database(), 'no fleet without NATS').to.equal('closed');
    await srv.start();
    await allSee([a, b, c], 3);
    // Rejoined, the heartbeats repair what was missed: quorum, and c opens.
    await eventually('c to open through the fleet', () => c.database() === 'open');
    expect(c.reason()).to.equal('fleet');
  });

  it('with NATS down, guarded calls do no fleet work of their own: dials stay one per retry period, whatever the calls', async () => {
    const config = parseConfig(fleetYaml(srv.url, `fleet${++fleetNo}`), 'test.yaml');
    const registry = new BreakerRegistry(config);
    const breaker = registry.entry('database').breaker;
    let dials = 0;
    const member = startFleetMember({
      config: config.fleet,
      registry,
      connect: (opts) => {
        dials++;
        return nats.connect(opts);
      },
      selfId: 'alone',
    });
    running.push(member);
    await eventually('connected', () => member.transport.connected);
    await srv.kill();
    await eventually('the fleet connection to notice', () => !member.transport.connected, 5000);
    const before = dials;
    const from = Date.now();
    // 3 s of calls every few ms, opening and closing the breaker over and over (each transition
    // an announcement the channel cannot take), beside 3 s of no calls at all.
    while (Date.now() - from < 3000) {
      await breaker.execute(() => Promise.reject(refused())).catch(() => undefined);
      for (let i = 0; i < 50; i++) await breaker.execute(async () => 'ok').catch(() => undefined);
      breaker.close();
      await sleep(5);
    }
    const busyDials = dials - before;
    await sleep(3000);
    const quietDials = dials - before - busyDials;
    expect(breaker.state, 'the breaker works on its own evidence').to.equal('closed');
    // retryMs is max(heartbeat, 1 s): 3 or 4 dials in 3 s, with or without calls.
    expect(busyDials, `dials during 3 s of calls (${quietDials} in 3 quiet s)`).to.be.at.most(4);
    expect(Math.abs(busyDials - quietDials), `dials: ${busyDials} with calls, ${quietDials} without`).to.be.at.most(1);
  });

  it('after the reset timeout one member runs the trial; when it succeeds the others follow and close', async () => {
    const fleet = instances(3, '1s');
    await allSee(fleet, 3);
    await fleet[0].fail();
    await fleet[1].fail();
    await eventually('the third to open through the fleet', () => fleet[2].database() === 'open');
    // How each member got to half-open: on its own reset timeout, or moved by the fleet.
    const halfOpen: string[][] = fleet.map(() => []);
    fleet.forEach((inst, i) =>
      inst.registry.entry('database').breaker.on('stateChange', (e) => {
        if (e.to === 'half_open') halfOpen[i].push(e.reason);
      }),
    );
    // Every member calls the (now recovered) database every 20 ms.
    let running = true;
    const loops = fleet.map(async (inst) => {
      while (running) {
        await inst.registry
          .entry('database')
          .breaker.execute(async () => 'ok')
          .catch(() => undefined);
        await sleep(20);
      }
    });
    await eventually('every member closed again', () => fleet.every((i) => i.database() === 'closed'), 8000);
    running = false;
    await Promise.all(loops);
    // One trial for the fleet: exactly one member went half-open on its own timer. Once that
    // trial had succeeded, the fleet moved the members that opened on their own evidence to
    // half-open, and they closed on their own trials; the one the fleet opened closed at once.
    const prober = halfOpen.findIndex((r) => r.includes('reset_timeout'));
    expect(
      halfOpen.filter((r) => r.includes('reset_timeout')),
      JSON.stringify(halfOpen),
    ).to.have.length(1);
    const expected = fleet.map((_, i) => (i === prober ? ['reset_timeout'] : i === 2 ? [] : ['fleet']));
    expect(halfOpen, 'half-open transitions (reasons) per member').to.deep.equal(expected);
    expect(fleet.map((i) => i.reason())).to.deep.equal(fleet.map((_, i) => (i === 2 && i !== prober ? 'fleet' : 'trial_succeeded')));
  });

  it('an idle member the fleet opened closes on the fleet trial without a call; an idle one open on its own evidence waits for its own trial', async () => {
    const [a, b, c, d] = instances(4, '1s');
    await allSee([a, b, c, d], 4);
    // a, b (busy) and c (idle from now on) open on their own evidence; d, idle, through the fleet.
    await a.fail();
    await b.fail();
    await c.fail();
    await eventually('d to open through the fleet', () => d.database() === 'open');
    expect(d.reason()).to.equal('fleet');
    const transitions = [c, d].map((inst) => {
      const seen: string[] = [];
      inst.registry.entry('database').breaker.on('stateChange', (e) => seen.push(`${e.to}:${e.reason}`));
      return seen;
    });
    // The database is back; only the busy members call it, every 20 ms.
    let running = true;
    const loops = [a, b].map(async (inst) => {
      while (running) {
        await inst.registry
          .entry('database')
          .breaker.execute(async () => 'ok')
          .catch(() => undefined);
        await sleep(20);
      }
    });
    try {
      await eventually('d to close', () => d.database() === 'closed', 8000);
      expect(transitions[1], 'd: closed by the fleet trial, no trial of its own').to.deep.equal(['closed:fleet']);
      expect(d.registry.entry('database').stats.totals().success ?? 0, 'd made no call').to.equal(0);
      await eventually('c to go half-open', () => c.database() === 'half_open', 2000);
      // c's own path has not answered yet: it lets a call through, and stays half-open until one does.
      await sleep(500);
      expect(transitions[0], 'c: half-open by the fleet, waiting for its own trial').to.deep.equal(['half_open:fleet']);
      await c.registry
        .entry('database')
        .breaker.execute(async () => 'ok')
        .catch(() => undefined);
      expect([c.database(), c.reason()]).to.deep.equal(['closed', 'trial_succeeded']);
    } finally {
      running = false;
      await Promise.all(loops);
    }
  });

  describe("breakerbox's own connection and the nats patcher", () => {
    let h: NatsHarness;
    afterEach(() => h?.instrumentation.disable());

    it('is neither guarded nor counted, and its outage never opens the app nats breaker', async () => {
      h = instrumentNats(
        fleetYaml(
          srv.url,
          `own${++fleetNo}`,
          '  nats:\n    failure_threshold: 1\n    reconnect_failures: 1\n    operations: [connect, publish, request, flush, subscribe]\n',
        ),
      );
      const config = h.config.fleet;
      expect(config.breakers, 'the nats breaker is not shared by default').to.deep.equal(['database']);
      const member = startFleetMember({ config, registry: h.registry, connect: h.nats.connect, selfId: 'own' });
      running.push(member);
      await eventually('connected', () => member.transport.connected);
      // Several heartbeats published on our connection.
      await sleep(500);
      const nats = h.entry().stats.totals();
      expect(
        Object.values(nats).reduce((s, n) => s + n, 0),
        JSON.stringify(nats),
      ).to.equal(0);
      await srv.kill();
      await eventually('the fleet connection to notice', () => !member.transport.connected, 5000);
      await sleep(500);
      expect(h.entry().breaker.state).to.equal('closed');
      expect(h.transitions()).to.deep.equal(['closed']);
    });
  });
});

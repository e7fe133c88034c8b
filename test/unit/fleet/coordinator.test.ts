import { expect } from 'chai';
import { BreakerOpenError, CircuitBreaker } from '../../../src/core';
import { FleetCoordinator } from '../../../src/fleet/coordinator';
import type { MemberReport } from '../../../src/fleet/view';
import { FakeClock } from '../core/fake-clock';

const HB = 1000;

/**
 * Members wired by an in-memory bus (the NATS transport has its own test against a real
 * server): what one sends reaches every other at `deliver()`, so tests control the order.
 */
class Fleet {
  readonly clock = new FakeClock();
  readonly members = new Map<string, { coordinator: FleetCoordinator; database: CircuitBreaker }>();
  private queue: (() => void)[] = [];
  /** Reports sent synchronously from inside a breaker transition (must stay empty). */
  sentInsideTransition = 0;
  private inTransition = false;

  constructor(ids: string[], quorum: { count: number; percent: null } | { count: null; percent: number } = { count: 2, percent: null }) {
    for (const id of ids) {
      const database = new CircuitBreaker({ name: 'database', failureThreshold: 1, resetTimeoutMs: 10_000, now: this.clock.now });
      database.on('stateChange', () => undefined);
      const coordinator = new FleetCoordinator({
        selfId: id,
        config: { quorum, heartbeatMs: HB },
        breakers: new Map([['database', database]]),
        now: this.clock.now,
        send: (report) => this.send(id, report),
        defer: (fn) => this.queue.push(fn),
        later: (fn) => this.queue.push(fn),
        random: () => 0.5,
      });
      coordinator.start();
      this.members.set(id, { coordinator, database });
    }
  }

  private send(from: string, report: MemberReport): void {
    if (this.inTransition) this.sentInsideTransition++;
    for (const [id, m] of this.members) if (id !== from) this.queue.push(() => m.coordinator.receive(report));
  }

  /** Runs deferred announcements and deliveries until nothing is left. */
  deliver(): void {
    while (this.queue.length > 0) this.queue.shift()!();
  }

  /** Every member sends a heartbeat (and expires the silent), then everything is delivered. */
  beat(ids = [...this.members.keys()]): void {
    for (const id of ids) this.get(id).coordinator.tick();
    this.deliver();
  }

  get(id: string) {
    return this.members.get(id)!;
  }

  /** A user call on `id` fails against the dead dependency: with failure_threshold 1 it opens there. */
  fail(id: string): void {
    this.inTransition = true;
    try {
      this.get(id).database.executeSync(() => {
        throw new Error('ECONNREFUSED');
      });
    } catch {
      // The user's failure, as without fleet mode.
    } finally {
      this.inTransition = false;
    }
  }

  /** A user call on `id`: whether it reached the dependency, and the refusal if it did not. */
  call(id: string, ok: boolean): { ran: boolean; err?: BreakerOpenError } {
    let ran = false;
    try {
      this.get(id).database.executeSync(() => {
        ran = true;
        if (!ok) throw new Error('ECONNREFUSED');
      });
    } catch (err) {
      if (err instanceof BreakerOpenError) return { ran, err };
    }
    return { ran };
  }

  /** Time passes by `ms`, with every listed member beating each heartbeat. */
  pass(ms: number, ids = [...this.members.keys()]): void {
    for (let t = 0; t < ms; t += HB) {
      this.clock.advance(HB);
      this.beat(ids);
    }
  }

  /** The member currently holding the fleet's trial, as the members see it (the one whose call runs). */
  probers(): string[] {
    return [...this.members.keys()].filter((id) => this.state(id) === 'open' && this.get(id).database.retryAt! <= this.clock.t);
  }

  state(id: string): string {
    return this.get(id).database.state;
  }

  reason(id: string): string | undefined {
    return this.get(id).database.lastTransition?.reason;
  }
}

describe('fleet coordinator: quorum opening', () => {
  it('opens the idle members with reason fleet once quorum members opened on their own evidence', () => {
    const f = new Fleet(['a', 'b', 'c', 'd']);
    f.beat();
    f.fail('a');
    f.deliver();
    expect(
      ['b', 'c', 'd'].map((id) => f.state(id)),
      'one member is not a quorum',
    ).to.deep.equal(['closed', 'closed', 'closed']);
    f.fail('b');
    f.deliver();
    expect(f.state('c')).to.equal('open');
    expect(f.reason('c')).to.equal('fleet');
    expect(f.state('d')).to.equal('open');
    expect(f.reason('a')).to.equal('failure_threshold');
    expect(f.sentInsideTransition, 'no NATS work inside the guarded call').to.equal(0);
  });

  it('one member with a bad path of its own never opens the others, however long it stays open', () => {
    const f = new Fleet(['a', 'b', 'c']);
    f.fail('a');
    for (let i = 0; i < 10; i++) {
      f.clock.advance(HB);
      f.beat();
    }
    expect([f.state('b'), f.state('c')]).to.deep.equal(['closed', 'closed']);
  });

  it('members opened by the fleet never count toward the quorum', () => {
    const f = new Fleet(['a', 'b', 'c', 'd']);
    f.fail('a');
    f.fail('b');
    f.deliver();
    expect(f.get('c').coordinator.report().holds).to.deep.equal({ database: 'fleet' });
    // a recovers on its own: only b still sees the outage itself; c and d must not prop it up.
    f.get('a').database.reset();
    f.beat();
    const view = f.get('d').coordinator.view;
    expect(view.ownOpenCount('database')).to.equal(1);
    expect(view.quorumReached('database')).to.equal(false);
  });

  it('a member joining while quorum holds opens at once; the quorum reached again opens again', () => {
    const f = new Fleet(['a', 'b', 'c', 'late']);
    const late = f.get('late');
    f.members.delete('late');
    f.fail('a');
    f.fail('b');
    f.deliver();
    f.members.set('late', late);
    expect(f.state('late')).to.equal('closed');
    f.beat();
    expect(f.state('late')).to.equal('open');
    expect(f.reason('late')).to.equal('fleet');
  });

  it('members that stop beating leave after 3 heartbeats, and their evidence with them', () => {
    const f = new Fleet(['a', 'b', 'c']);
    f.fail('a');
    f.fail('b');
    f.deliver();
    expect(f.state('c')).to.equal('open');
    f.get('c').database.reset();
    for (let i = 0; i < 4; i++) {
      f.clock.advance(HB);
      f.beat(['c']);
    }
    expect(f.get('c').coordinator.view.memberCount).to.equal(1);
    // They come back still holding it open: quorum is reached again, and c opens again.
    f.beat();
    expect(f.state('c')).to.equal('open');
    expect(f.reason('c')).to.equal('fleet');
  });

  it('a fleet-opened member whose own trial succeeds stays closed: its own evidence wins', () => {
    const f = new Fleet(['a', 'b', 'c']);
    f.fail('a');
    f.fail('b');
    f.deliver();
    for (let i = 0; i < 10; i++) {
      f.clock.advance(HB);
      f.beat();
    }
    expect(f.state('c'), 'still held open while quorum holds').to.equal('open');
    // a and b keep failing their trials, so the fleet's trial passes to c (which failed none).
    for (let round = 0; round < 3 && f.state('c') !== 'closed'; round++) {
      f.pass(10_000);
      for (const id of ['a', 'b']) f.call(id, false);
      f.deliver();
      f.call('c', true);
    }
    expect(f.state('c')).to.equal('closed');
    f.beat();
    expect(f.state('c')).to.equal('closed');
    expect(f.get('c').coordinator.report().holds).to.deep.equal({});
  });

  it('leaves operator states alone: a disabled or forced-open breaker is not opened by the fleet', () => {
    const f = new Fleet(['a', 'b', 'c', 'd']);
    f.get('c').database.disable();
    f.get('d').database.forceOpen();
    f.fail('a');
    f.fail('b');
    f.deliver();
    expect([f.state('c'), f.state('d')]).to.deep.equal(['disabled', 'forced_open']);
    expect(f.get('d').coordinator.report().holds, 'forced open is no evidence').to.deep.equal({});
  });

  it('a shared manual breaker the app builds after quorum was reached opens as soon as it exists', () => {
    const f = new Fleet(['a', 'b', 'c']);
    f.fail('a');
    f.fail('b');
    f.deliver();
    const coordinator = new FleetCoordinator({
      selfId: 'late',
      config: { quorum: { count: 2, percent: null }, heartbeatMs: HB },
      now: f.clock.now,
      send: () => undefined,
    });
    coordinator.start();
    for (const id of ['a', 'b']) coordinator.receive(f.get(id).coordinator.report());
    const database = new CircuitBreaker({ name: 'database', now: f.clock.now });
    coordinator.attach('database', database);
    expect(database.state).to.equal('open');
    expect(database.lastTransition?.reason).to.equal('fleet');
  });

  it('with a percentage quorum, needs that share of the current members', () => {
    const f = new Fleet(['a', 'b', 'c', 'd', 'e', 'f'], { count: null, percent: 50 });
    f.beat();
    f.fail('a');
    f.fail('b');
    f.deliver();
    expect(f.state('f')).to.equal('closed');
    f.fail('c');
    f.deliver();
    expect(f.state('f')).to.equal('open');
  });
});

describe('fleet coordinator: one trial for the fleet', () => {
  /** a and b open on their own evidence, c and d through the fleet, all at the same moment. */
  function outage(): Fleet {
    const f = new Fleet(['a', 'b', 'c', 'd']);
    f.beat();
    f.fail('a');
    f.fail('b');
    f.deliver();
    f.beat();
    return f;
  }

  it('one member runs the trial; the others refuse, retryAfterMs counting to the fleet trial', () => {
    const f = outage();
    f.pass(5 * HB);
    const [prober] = f.probers().length === 0 ? [undefined] : f.probers();
    expect(prober, 'nobody is due yet').to.equal(undefined);
    f.pass(5 * HB);
    const due = f.probers();
    expect(due, 'exactly one member is due for a trial').to.have.length(1);
    for (const id of ['a', 'b', 'c', 'd'].filter((x) => x !== due[0])) {
      const r = f.call(id, true);
      expect(r.ran, `${id} must not trial`).to.equal(false);
      expect(r.err!.retryAfterMs, `${id} waits for the fleet's trial`)
        .to.be.greaterThan(0)
        .and.at.most(2 * HB);
    }
    expect(f.call(due[0], true).ran).to.equal(true);
  });

  it('when the trial succeeds, members the fleet opened close without a call; the others go half-open and close on their own trials', () => {
    const f = outage();
    f.pass(10 * HB);
    const [prober] = f.probers();
    f.call(prober, true);
    expect(f.state(prober)).to.equal('closed');
    f.deliver();
    const own = ['a', 'b'].filter((x) => x !== prober);
    const byFleet = ['c', 'd'].filter((x) => x !== prober);
    expect(
      byFleet.map((id) => [f.state(id), f.reason(id)]),
      'opened by the fleet, nothing of their own against the dependency',
    ).to.deep.equal(byFleet.map(() => ['closed', 'fleet']));
    expect(
      own.map((id) => [f.state(id), f.reason(id)]),
      'opened on their own evidence: their own path must answer first',
    ).to.deep.equal(own.map(() => ['half_open', 'fleet']));
    for (const id of own) expect(f.call(id, true).ran).to.equal(true);
    expect(own.map((id) => f.state(id))).to.deep.equal(own.map(() => 'closed'));
  });

  it('a member the fleet opened that failed a trial of its own goes half-open, not closed, when the fleet trial succeeds', () => {
    const f = outage();
    // c, cut off from the fleet's news for a while, ran a trial of its own and failed it.
    f.pass(15 * HB, ['c']);
    expect(f.get('c').coordinator.view.memberCount, 'c alone').to.equal(1);
    expect(f.call('c', false).ran).to.equal(true);
    expect(f.state('c')).to.equal('open');
    f.deliver();
    f.beat();
    for (let i = 0; i < 12 && f.probers().filter((id) => id !== 'c').length === 0; i++) f.pass(HB);
    const [prober] = f.probers().filter((id) => id !== 'c');
    expect(prober, 'another member is due').to.be.a('string');
    f.call(prober, true);
    f.deliver();
    expect([f.state('c'), f.reason('c')]).to.deep.equal(['half_open', 'fleet']);
    const untouched = ['d'].filter((x) => x !== prober);
    expect(untouched.map((id) => f.state(id))).to.deep.equal(untouched.map(() => 'closed'));
  });

  it('a prober closed by an operator (no trial of its own) closes nobody: the others go half-open', () => {
    const f = outage();
    f.pass(10 * HB);
    const [prober] = f.probers();
    f.get(prober).database.close();
    f.deliver();
    const others = ['a', 'b', 'c', 'd'].filter((x) => x !== prober);
    expect(others.map((id) => f.state(id))).to.deep.equal(others.map(() => 'half_open'));
  });

  it('when the trial fails, the fleet stays open and the next trial goes to another member', () => {
    const f = outage();
    f.pass(10 * HB);
    const [first] = f.probers();
    f.call(first, false);
    f.deliver();
    expect(['a', 'b', 'c', 'd'].map((id) => f.state(id))).to.deep.equal(['open', 'open', 'open', 'open']);
    f.pass(9 * HB);
    expect(f.probers(), 'the next trial is one reset period after the failed one').to.deep.equal([]);
    f.pass(HB);
    const [second] = f.probers();
    expect(second).to.be.a('string').and.not.equal(first);
    expect(f.probers()).to.have.length(1);
  });

  it('a prober that stops beating is replaced once it has missed 3 heartbeats', () => {
    const f = outage();
    f.pass(10 * HB);
    const [gone] = f.probers();
    const rest = ['a', 'b', 'c', 'd'].filter((x) => x !== gone);
    f.pass(4 * HB, rest);
    const next = f.probers().filter((id) => id !== gone);
    expect(next).to.have.length(1);
  });

  it('a member without traffic keeps waiting on a live prober that is due, and trials once the prober has left', () => {
    const f = outage();
    f.pass(10 * HB);
    const [idle] = f.probers();
    const rest = ['a', 'b', 'c', 'd'].filter((x) => x !== idle);
    f.pass(5 * HB);
    for (const id of rest) expect(f.call(id, true).ran, `${id} must not spend a user on its own trial`).to.equal(false);
    f.pass(4 * HB, rest);
    const next = f.probers().filter((id) => id !== idle);
    expect(next, 'the next prober takes over once the silent one left the view').to.have.length(1);
    expect(f.call(next[0], true).ran).to.equal(true);
  });

  it('hands the trial to the members with traffic: idle members fail no user call however many trials fail', () => {
    const f = outage();
    const busy = ['c', 'd'];
    const idle = ['a', 'b'];
    const idleRan: string[] = [];
    const trials: string[] = [];
    // 12 s of outage: the busy members call 10 times a beat, the idle ones once every 3 beats.
    for (let beat = 1; beat <= 40; beat++) {
      f.clock.advance(HB);
      for (const id of busy) {
        for (let i = 0; i < 10; i++) if (f.call(id, false).ran) trials.push(id);
        f.deliver();
      }
      if (beat % 3 === 0) for (const id of idle) if (f.call(id, false).ran) idleRan.push(id);
      f.deliver();
      f.beat();
    }
    expect(idleRan, 'no idle user call reached the dead dependency').to.deep.equal([]);
    expect(new Set(trials), 'the busy members take turns').to.deep.equal(new Set(busy));
    expect(trials.length, 'one trial per reset period for the fleet').to.be.at.most(5);
  });

  it('after a successful fleet trial the others go half-open within 250 ms, well inside timeout + 2 s', () => {
    const f = outage();
    const delays: number[] = [];
    for (const m of f.members.values()) {
      Object.assign(m.coordinator, {
        o: {
          ...(m.coordinator as unknown as { o: object }).o,
          random: () => 0.999,
          later: (fn: () => void, ms: number) => {
            delays.push(ms);
            fn();
          },
        },
      });
    }
    f.pass(10 * HB);
    const [prober] = f.probers();
    f.call(prober, true);
    f.deliver();
    expect(delays).to.have.length(3);
    for (const ms of delays) expect(ms).to.be.at.most(250);
    expect(
      ['a', 'b', 'c', 'd'].filter((x) => x !== prober).map((id) => f.state(id)),
      'each lets calls through again (a and b open on their own evidence, c and d by the fleet)',
    ).to.deep.equal(['a', 'b', 'c', 'd'].filter((x) => x !== prober).map((id) => (id === 'a' || id === 'b' ? 'half_open' : 'closed')));
  });
});

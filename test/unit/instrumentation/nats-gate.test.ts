/**
 * The nats gate without a server: status events, publishes made while disconnected and the
 * half-open probe, on stand-in connections and a hand-moved clock. The real client and
 * server are in test/integration/nats-*.test.ts.
 */
import { expect } from 'chai';
import { parseConfig } from '../../../src/config';
import { BreakerOpenError } from '../../../src/core';
import { DEFAULT_OPERATION } from '../../../src/core/internal';
import { ModuleGuard } from '../../../src/instrumentation/module-guard';
import { CONNECTION_OPERATION, NatsGate } from '../../../src/instrumentation/nats-gate';
import { BreakerRegistry, type ManagedBreaker } from '../../../src/registry';
import { deferred, FakeClock } from '../core/fake-clock';

/** Stands in for a ProtocolHandler: a PING/PONG per flush(), answered by the test. */
class FakeProtocol {
  connected = true;
  connectedOnce = true;
  closed = false;
  server = { listen: '10.0.0.1:4222' };
  publisher: FakeConnection;
  readonly pongs: ReturnType<typeof deferred<void>>[] = [];
  constructor(publisher: FakeConnection) {
    this.publisher = publisher;
  }
  flush(): Promise<void> {
    const d = deferred<void>();
    this.pongs.push(d);
    return d.promise;
  }
  isClosed(): boolean {
    return this.closed;
  }
}

class FakeConnection {
  protocol: FakeProtocol = new FakeProtocol(this);
  readonly published: unknown[][] = [];
  /** What the library's publish would do: buffer, return nothing. */
  readonly rawPublish = (...args: unknown[]): void => {
    this.published.push(args);
  };
}

interface Setup {
  gate: NatsGate;
  entry: ManagedBreaker;
  clock: FakeClock;
  registry: BreakerRegistry;
}

function setup(extra = ''): Setup {
  const config = parseConfig(
    `
circuit_breakers:
  nats:
    failure_threshold: 2
    timeout: 10
    operations: [connect, publish, request, flush, subscribe]
${extra}`,
    'test.yaml',
  );
  const registry = new BreakerRegistry(config);
  const clock = new FakeClock();
  const entry = registry.entry('nats', { now: clock.now });
  const gate = new NatsGate(new ModuleGuard('nats', config.breakers[0], registry));
  return { gate, entry, clock, registry };
}

function status(type: string, data = '10.0.0.1:4222'): { type: string; data: string } {
  return { type, data };
}

function publishThrown(gate: NatsGate, nc: FakeConnection, ...args: unknown[]): unknown {
  try {
    gate.publish(nc.rawPublish as never, nc, args, 'publish');
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Lets promise callbacks queued so far run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function opCounts(entry: ManagedBreaker, name: string): number[] {
  const op = entry.stats.operations.find((o) => o.name === name);
  // The first five outcomes: these breakers have no concurrency limit, so nothing is `limited`.
  return op ? Array.from(op.counts).slice(0, 5) : [0, 0, 0, 0, 0];
}

/** Lets the gate see one failed dial attempt of the client's reconnect loop. */
async function failedDial(gate: NatsGate, nc: FakeConnection, code = 'CONNECTION_REFUSED', listen = '10.0.0.1:4222'): Promise<void> {
  const attempt = Promise.reject(Object.assign(new Error(code), { code }));
  gate.observeDial(nc.protocol, { listen }, attempt);
  await attempt.catch(() => undefined);
  await settle();
}

describe("nats gate: the connection's own reconnect loop feeds the breaker", () => {
  it('a disconnect is no failure; the reconnect_failures-th failed reconnect attempt in a row opens the breaker at once', async () => {
    const { gate, entry } = setup('    reconnect_failures: 3\n');
    const nc = new FakeConnection();
    gate.observeStatus(nc.protocol, status('disconnect'));
    expect(entry.breaker.consecutiveFailures).to.equal(0);
    await failedDial(gate, nc);
    await failedDial(gate, nc);
    // Two attempts is what the client rides out here, whatever failure_threshold (2) says.
    expect(entry.breaker.state).to.equal('closed');
    await failedDial(gate, nc);
    expect(entry.breaker.state).to.equal('open');
    expect(entry.breaker.lastTransition?.reason).to.equal('reconnect_failures');
    // [success, failure, ignored, rejected, timeout]
    expect(opCounts(entry, CONNECTION_OPERATION)).to.deep.equal([0, 3, 0, 0, 0]);
  });

  it('a reconnect starts the count again', async () => {
    const { gate, entry } = setup('    reconnect_failures: 2\n');
    const nc = new FakeConnection();
    gate.observeStatus(nc.protocol, status('disconnect'));
    await failedDial(gate, nc);
    gate.observeStatus(nc.protocol, status('reconnect'));
    gate.observeStatus(nc.protocol, status('disconnect'));
    await failedDial(gate, nc);
    expect(entry.breaker.state).to.equal('closed');
    expect(opCounts(entry, CONNECTION_OPERATION)).to.deep.equal([1, 2, 0, 0, 0]);
  });

  it('a reconnect while open is recovery evidence: half-open and a probe at once, long before the reset timeout', async () => {
    const { gate, entry } = setup('    reconnect_failures: 1\n');
    const nc = new FakeConnection();
    gate.observeStatus(nc.protocol, status('disconnect'));
    await failedDial(gate, nc);
    expect(entry.breaker.state).to.equal('open');
    gate.observeStatus(nc.protocol, status('reconnect'));
    expect(entry.breaker.state).to.equal('half_open');
    expect(entry.breaker.lastTransition?.reason).to.equal('reconnected');
    expect(nc.protocol.pongs).to.have.length(1);
    nc.protocol.pongs[0].resolve();
    await settle();
    expect(entry.breaker.state).to.equal('closed');
  });

  it("a failed attempt whose error is not the server's fault (bad credentials) does not count", async () => {
    const { gate, entry } = setup('    reconnect_failures: 1\n');
    const nc = new FakeConnection();
    await failedDial(gate, nc, 'AUTHORIZATION_VIOLATION');
    expect(entry.breaker.state).to.equal('closed');
    expect(opCounts(entry, CONNECTION_OPERATION)).to.deep.equal([0, 0, 1, 0, 0]);
  });

  it('leaves dial attempts and events before the first connect completed to the connect() call (counted there once)', async () => {
    const { gate, entry } = setup('    reconnect_failures: 1\n');
    const nc = new FakeConnection();
    nc.protocol.connectedOnce = false;
    gate.observeStatus(nc.protocol, status('disconnect'));
    await failedDial(gate, nc);
    expect(entry.breaker.state).to.equal('closed');
    expect(opCounts(entry, CONNECTION_OPERATION)).to.deep.equal([0, 0, 0, 0, 0]);
  });

  it('ignores informational events', () => {
    const { gate, entry } = setup();
    const nc = new FakeConnection();
    for (const type of ['reconnecting', 'pingTimer', 'update', 'ldm', 'error', 'staleConnection', 'client initiated reconnect']) {
      gate.observeStatus(nc.protocol, status(type));
    }
    expect(entry.breaker.consecutiveFailures).to.equal(0);
    expect(opCounts(entry, CONNECTION_OPERATION)).to.deep.equal([0, 0, 0, 0, 0]);
  });

  it('never throws into the client, whatever the event or attempt looks like', () => {
    const { gate } = setup();
    const nc = new FakeConnection();
    expect(() => gate.observeStatus(nc.protocol, undefined)).to.not.throw();
    expect(() => gate.observeStatus({} as never, { type: 'disconnect', data: 42 })).to.not.throw();
    expect(() => gate.observeStatus(nc.protocol, { type: 'reconnect' })).to.not.throw();
    expect(() => gate.observeDial(nc.protocol, undefined, undefined)).to.not.throw();
    expect(() => gate.observeDial({} as never, null, 42)).to.not.throw();
  });
});

describe('nats gate: publish while the client reconnects', () => {
  it('while closed, goes to the library as without us, even with a fallback registered, and counts for nothing', () => {
    const { gate, entry } = setup();
    let diverted = 0;
    entry.breaker.fallback(() => diverted++);
    const nc = new FakeConnection();
    gate.observeStatus(nc.protocol, status('disconnect'));
    nc.protocol.connected = false;
    for (let i = 0; i < 5; i++) expect(gate.publish(nc.rawPublish as never, nc, ['s', `d${i}`], 'publish')).to.equal(undefined);
    expect(nc.published).to.have.length(5);
    expect(diverted).to.equal(0);
    expect(entry.breaker.state).to.equal('closed');
    expect(entry.breaker.consecutiveFailures).to.equal(0);
    expect(opCounts(entry, 'publish')).to.deep.equal([5, 0, 0, 0, 0]);
  });

  it('while closed, a request or flush fails as the library fails it: not evidence, not diverted (even with a request fallback)', async () => {
    const { gate, entry, registry } = setup();
    let diverted = 0;
    registry.get('nats', { fallback: { request: () => diverted++, flush: () => diverted++ } });
    const nc = new FakeConnection();
    gate.observeStatus(nc.protocol, status('disconnect'));
    nc.protocol.connected = false;
    const timeout = Object.assign(new Error('TIMEOUT'), { code: 'TIMEOUT' });
    for (let i = 0; i < 3; i++) {
      expect(await gate.callAsync(() => Promise.reject(timeout), nc, ['s'], 'request').catch((e: unknown) => e)).to.equal(timeout);
    }
    expect(await gate.callAsync(async () => 'pong', nc, [], 'flush')).to.equal('pong');
    expect(diverted).to.equal(0);
    expect(entry.breaker.state).to.equal('closed');
    expect(entry.breaker.consecutiveFailures).to.equal(0);
    // Recorded as they ended: [success, failure, ignored, rejected, timeout]
    expect(opCounts(entry, 'request')).to.deep.equal([0, 3, 0, 0, 0]);
    expect(opCounts(entry, 'flush')).to.deep.equal([1, 0, 0, 0, 0]);
  });

  it('once open, refuses synchronously without touching the library (or hands the message to the fallback)', async () => {
    const { gate, entry } = setup('    reconnect_failures: 1\n');
    const nc = new FakeConnection();
    gate.observeStatus(nc.protocol, status('disconnect'));
    nc.protocol.connected = false;
    await failedDial(gate, nc);
    const err = publishThrown(gate, nc, 's', 'd') as BreakerOpenError;
    expect(err).to.be.instanceOf(BreakerOpenError);
    expect(err.code).to.equal('ECIRCUITOPEN');
    entry.breaker.fallback(() => 'sent elsewhere');
    expect(gate.publish(nc.rawPublish as never, nc, ['s', 'd2'], 'publish')).to.equal('sent elsewhere');
    expect(nc.published).to.deep.equal([]);
  });

  it('a publish on a connected client is an ordinary guarded call that ends the failure streak', async () => {
    const { gate, entry } = setup();
    const nc = new FakeConnection();
    await gate.callAsync(() => Promise.reject(Object.assign(new Error('t'), { code: 'TIMEOUT' })), nc, [], 'flush').catch(() => undefined);
    expect(entry.breaker.consecutiveFailures).to.equal(1);
    gate.publish(nc.rawPublish as never, nc, ['s', 'd'], 'publish');
    expect(entry.breaker.consecutiveFailures).to.equal(0);
    expect(opCounts(entry, 'publish')).to.deep.equal([1, 0, 0, 0, 0]);
  });

  it('a subscription made while disconnected succeeds but does not end the streak (it is only sent on reconnect)', async () => {
    const { gate, entry } = setup();
    const nc = new FakeConnection();
    await gate.callAsync(() => Promise.reject(Object.assign(new Error('t'), { code: 'TIMEOUT' })), nc, [], 'flush').catch(() => undefined);
    nc.protocol.connected = false;
    const sub = {};
    expect(gate.subscribe(() => sub, nc, ['s'], 'subscribe')).to.equal(sub);
    expect(entry.breaker.consecutiveFailures).to.equal(1);
    expect(opCounts(entry, 'subscribe')).to.deep.equal([1, 0, 0, 0, 0]);
  });
});

describe('nats gate: the half-open trial is a probe, never an app call', () => {
  function openBreaker(s: Setup, _nc: FakeConnection): void {
    // failure_threshold: 2 counted failures of app calls.
    for (let i = 0; i < 2; i++) {
      s.entry.breaker.releaseError(
        s.entry.breaker.acquire(s.clock.now()),
        Object.assign(new Error('t'), { code: 'TIMEOUT' }),
        s.clock.now(),
        DEFAULT_OPERATION,
      );
    }
    expect(s.entry.breaker.state).to.equal('open');
  }

  it('the first call after the timeout starts a PING/PONG probe and is refused; the pong closes the breaker', async () => {
    const s = setup();
    const nc = new FakeConnection();
    openBreaker(s, nc);
    expect((publishThrown(s.gate, nc, 'a') as BreakerOpenError).state).to.equal('open');
    expect(nc.protocol.pongs).to.have.length(0);

    s.clock.advance(10_000);
    const first = publishThrown(s.gate, nc, 'a') as BreakerOpenError;
    expect(first.code).to.equal('ECIRCUITOPEN');
    expect(first.state).to.equal('half_open');
    expect(s.entry.breaker.state).to.equal('half_open');
    expect(nc.protocol.pongs).to.have.length(1);
    // Every app call waits for the probe, whatever its kind; no second probe.
    expect((publishThrown(s.gate, nc, 'b') as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    const request = await s.gate.callAsync(async () => 'reply', nc, ['r'], 'request').catch((e: unknown) => e);
    expect((request as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    expect(nc.protocol.pongs).to.have.length(1);
    expect(nc.published).to.deep.equal([]);

    nc.protocol.pongs[0].resolve();
    await settle();
    expect(s.entry.breaker.state).to.equal('closed');
    s.gate.publish(nc.rawPublish as never, nc, ['c'], 'publish');
    expect(nc.published).to.deep.equal([['c']]);
    expect(s.entry.breaker.state).to.equal('closed');
    expect(opCounts(s.entry, CONNECTION_OPERATION)[0]).to.equal(1);
  });

  it('takes every trial slot with a probe (half_open_max_calls: 3), so no app call is ever a trial', async () => {
    const s = setup('    half_open_max_calls: 3\n');
    const nc = new FakeConnection();
    openBreaker(s, nc);
    s.clock.advance(10_000);
    let calls = 0;
    const err = await s.gate.callAsync(async () => calls++, nc, [], 'flush').catch((e: unknown) => e);
    expect((err as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    expect(calls).to.equal(0);
    expect(nc.protocol.pongs).to.have.length(3);
    nc.protocol.pongs.forEach((p) => p.resolve());
    await settle();
    expect(s.entry.breaker.state).to.equal('closed');
  });

  it('a probe that fails (the pong is lost to a disconnect) reopens the breaker', async () => {
    const s = setup();
    const nc = new FakeConnection();
    openBreaker(s, nc);
    s.clock.advance(10_000);
    publishThrown(s.gate, nc, 'a');
    nc.protocol.pongs[0].reject(Object.assign(new Error('DISCONNECT'), { code: 'DISCONNECT' }));
    await settle();
    expect(s.entry.breaker.state).to.equal('open');
  });

  it('a probe on a client that is still disconnected fails at once instead of queueing a PING', () => {
    const s = setup();
    const nc = new FakeConnection();
    openBreaker(s, nc);
    nc.protocol.connected = false;
    s.clock.advance(10_000);
    expect((publishThrown(s.gate, nc, 'a') as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    expect(nc.protocol.pongs).to.have.length(0);
    expect(s.entry.breaker.state).to.equal('open');
    expect(s.entry.breaker.lastTransition?.reason).to.equal('trial_failed');
  });

  it('keeps probing until success_threshold probes answered', async () => {
    const s = setup('    success_threshold: 3\n');
    const nc = new FakeConnection();
    openBreaker(s, nc);
    s.clock.advance(10_000);
    publishThrown(s.gate, nc, 'a');
    for (let i = 0; i < 3; i++) {
      expect(nc.protocol.pongs).to.have.length(i + 1);
      expect(s.entry.breaker.state).to.equal('half_open');
      nc.protocol.pongs[i].resolve();
      await settle();
    }
    expect(s.entry.breaker.state).to.equal('closed');
    expect(nc.protocol.pongs).to.have.length(3);
  });

  it('a reconnect probes at once, without waiting for the reset timeout or app traffic', async () => {
    const s = setup();
    const nc = new FakeConnection();
    openBreaker(s, nc);
    s.gate.observeStatus(nc.protocol, status('reconnect'));
    expect(nc.protocol.pongs).to.have.length(1);
    nc.protocol.pongs[0].resolve();
    await settle();
    expect(s.entry.breaker.state).to.equal('closed');
  });

  it('connect() is its own trial: it needs no connection to probe and cannot be starved', async () => {
    const s = setup();
    const nc = new FakeConnection();
    openBreaker(s, nc);
    s.clock.advance(10_000);
    const conn = await s.gate.connect(async () => nc, undefined, [{ servers: 'x' }]);
    expect(conn).to.equal(nc);
    expect(s.entry.breaker.state).to.equal('closed');
  });

  it('metrics_only never refuses and starts no probe', () => {
    const s = setup('    mode: metrics_only\n');
    const nc = new FakeConnection();
    openBreaker(s, nc);
    s.clock.advance(10_000);
    s.gate.publish(nc.rawPublish as never, nc, ['a'], 'publish');
    expect(nc.published).to.deep.equal([['a']]);
    expect(nc.protocol.pongs).to.have.length(0);
  });
});

describe('nats gate: per_target', () => {
  it('keys calls and reconnect attempts by the server the connection is on', async () => {
    const s = setup('    per_target: true\n    reconnect_failures: 1\n');
    const a = new FakeConnection();
    const b = new FakeConnection();
    b.protocol.server.listen = '10.0.0.2:4222';
    s.gate.observeStatus(a.protocol, status('disconnect', '10.0.0.1:4222'));
    await failedDial(s.gate, a, 'CONNECTION_REFUSED', '10.0.0.1:4222');
    expect(s.registry.entry('nats@10.0.0.1:4222').breaker.state).to.equal('open');
    expect((publishThrown(s.gate, a, 'x') as BreakerOpenError).breaker).to.equal('nats@10.0.0.1:4222');
    s.gate.publish(b.rawPublish as never, b, ['y'], 'publish');
    expect(b.published).to.deep.equal([['y']]);
    expect(s.entry.breaker.state).to.equal('closed');
  });
});

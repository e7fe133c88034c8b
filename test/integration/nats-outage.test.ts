/**
 * Real outages: a private nats-server killed (sockets just drop) and restarted on the same
 * port. The breaker opens once the client's reconnect attempts fail `reconnect_failures`
 * times, refuses calls without I/O, and after the restart half-opens and closes through its
 * own probe, even when the app's only traffic is requests answered by a responder in the
 * same process. (Restarts the client rides out: nats-blip.test.ts.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import type { NatsConnection } from 'nats';
import WebSocket from 'ws';
import { BreakerOpenError } from '../../src/core';
import { requireNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';
import { freePort } from '../helpers/free-port';
import { natsAvailable, requireService } from '../helpers/require-services';
import { startSilentServer, startWsServer, type CountingPeer, type WsServerPeer } from '../helpers/ws-peers';
import { eventually, instrumentNats, nextStatus, rejectionOf, thrownBy, type NatsHarness } from '../fixtures/nats/harness';

const RECONNECT_FAST = { reconnectTimeWait: 100, maxReconnectAttempts: -1 };

function expectRefusal(err: unknown, state = 'open'): void {
  expect(err).to.be.instanceOf(BreakerOpenError);
  expect((err as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
  expect((err as BreakerOpenError).breaker).to.equal('nats');
  expect((err as BreakerOpenError).state).to.equal(state);
}

describe('nats patcher: a private nats-server goes down and comes back', function () {
  this.timeout(60_000);
  let h: NatsHarness;
  let srv: PrivateNats;
  const connections: NatsConnection[] = [];
  const peers: CountingPeer[] = [];

  before(function () {
    requireNatsServer(this);
  });

  async function startServer(): Promise<void> {
    srv = await startPrivateNats();
  }

  async function cleanUp(): Promise<void> {
    h?.instrumentation.disable();
    await Promise.allSettled(connections.splice(0).map((nc) => nc.close()));
    await Promise.allSettled(peers.splice(0).map((p) => p.close()));
    await srv?.cleanup();
  }

  function instrument(extra = ''): NatsHarness {
    h = instrumentNats(`
circuit_breakers:
  nats:
    failure_threshold: 2
    timeout: 1
    reconnect_failures: 2
    operations: [connect, publish, request, flush, subscribe]
${extra}`);
    expect(h.patched()).to.equal(true);
    return h;
  }

  async function client(url = srv.url): Promise<NatsConnection> {
    const nc = await h.nats.connect({ servers: url, ...RECONNECT_FAST });
    connections.push(nc);
    return nc;
  }

  /** Kills the server and waits for the breaker to open: two failed reconnect attempts. */
  async function outage(nc: NatsConnection): Promise<void> {
    const disconnected = nextStatus(nc, 'disconnect');
    await srv.kill();
    await disconnected;
    await eventually('the breaker to open', () => h.entry().breaker.state === 'open');
    expect(h.entry().breaker.lastTransition?.reason).to.equal('reconnect_failures');
  }

  async function recovery(nc: NatsConnection): Promise<void> {
    const reconnected = nextStatus(nc, 'reconnect');
    await srv.start();
    await reconnected;
  }

  // One outage on one server, told in steps that share the connection and what it received.
  describe('opens on the outage, refuses every call without I/O, then half-opens and closes after the restart', () => {
    let nc: NatsConnection;
    const received: string[] = [];

    before(startServer);
    after(cleanUp);

    it('step 1: delivers a publish to a subscriber while the server is up', async () => {
      instrument();
      nc = await client();
      nc.subscribe('orders.>', { callback: (_err, msg) => received.push(msg.string()) });
      nc.publish('orders.before', 'before');
      await nc.flush();
      expect(received).to.deep.equal(['before']);
    });

    it("step 2: opens once the killed server's reconnect attempts fail reconnect_failures times", async () => {
      await outage(nc);
      expect(h.counts('connection').failure).to.be.at.least(2);
    });

    it("step 3: while open, refuses publish (nothing reaches the client's buffer), request and flush", async () => {
      const outbound = (nc as unknown as { protocol: { outbound: { size(): number } } }).protocol.outbound;
      const buffered = outbound.size();
      expectRefusal(thrownBy(() => nc.publish('orders.during', 'lost?')));
      expect(outbound.size()).to.equal(buffered);
      expectRefusal(await rejectionOf(nc.request('orders.q', 'x', { timeout: 500 })));
      expectRefusal(await rejectionOf(nc.flush()));
      expect(h.counts('publish').rejected).to.equal(1);
    });

    it('step 4: while open, refuses connect without opening a socket (a listener on the port sees nothing)', async () => {
      const peer = await startSilentServer();
      peers.push(peer);
      expectRefusal(await rejectionOf(h.nats.connect({ servers: `127.0.0.1:${peer.port}`, reconnect: false })));
      expectRefusal(await rejectionOf(h.nats.connect({ servers: srv.url, reconnect: false })));
      expect(peer.accepted).to.equal(0);
      expect(h.counts('publish').rejected).to.equal(1);
      expect(h.counts('connect').rejected).to.equal(2);
    });

    it('step 5: after the restart, the reconnect half-opens it and its probe closes it: calls flow again', async () => {
      await recovery(nc);
      await eventually('the breaker to close', () => h.entry().breaker.state === 'closed');
      nc.publish('orders.after', 'after');
      expect(h.entry().breaker.state).to.equal('closed');
      expect(h.transitions()).to.deep.equal(['closed', 'open', 'half_open', 'closed']);
      await nc.flush();
      await eventually('the message after recovery', () => received.includes('after'));
      expect(received).to.not.include('lost?');
      expect(h.entry().stats.recoveryCount).to.equal(1);
    });
  });

  describe('each on a server of its own', () => {
    beforeEach(startServer);
    afterEach(cleanUp);

    it('a publish made while the client reconnects goes to the client as without us, until the outage outlasts reconnect_failures', async () => {
      instrument();
      const nc = await h.nats.connect({ servers: srv.url, reconnectTimeWait: 2_000, maxReconnectAttempts: -1 });
      connections.push(nc);
      const disconnected = nextStatus(nc, 'disconnect');
      await srv.kill();
      await disconnected;
      // One failed attempt, the next is 2 s away: the client is riding it out.
      await eventually('the first failed reconnect attempt', () => h.counts('connection').failure === 1);
      expect(nc.publish('events.x', 'buffered by the client')).to.equal(undefined);
      expect(h.entry().breaker.state).to.equal('closed');
      expect(h.counts('publish')).to.deep.include({ success: 1, failure: 0 });
      await eventually('the second failed attempt to open the breaker', () => h.entry().breaker.state === 'open', 10_000);
      expectRefusal(thrownBy(() => nc.publish('events.x', 'refused')));
    });

    it('publish falls back to broadcasting to the local WebSocket clients while the breaker is open', async () => {
      instrument();
      const ws: WsServerPeer = await startWsServer({ echo: false });
      peers.push(ws);
      const sockets = await Promise.all(
        [0, 1].map(
          () =>
            new Promise<WebSocket>((resolve, reject) => {
              const socket = new WebSocket(ws.url);
              socket.once('open', () => resolve(socket));
              socket.once('error', reject);
            }),
        ),
      );
      const inbox = sockets.map((socket) => {
        const got: string[] = [];
        socket.on('message', (data) => got.push(String(data)));
        return got;
      });
      await eventually('both clients on the server', () => ws.clients.size === 2);

      const nc = await client();
      await outage(nc);
      // The seed's fallback: the message goes straight to this node's WebSocket clients.
      h.registry.get('nats').fallback((subject: string, data: string | Uint8Array) => {
        const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
        for (const c of ws.wss.clients) c.send(JSON.stringify({ subject, text }));
        return 'broadcast';
      });

      expect(nc.publish('chat.room1', 'hello while NATS is down')).to.equal('broadcast');
      await eventually('both clients to receive the broadcast', () => inbox.every((got) => got.length === 1));
      for (const got of inbox) expect(JSON.parse(got[0])).to.deep.equal({ subject: 'chat.room1', text: 'hello while NATS is down' });
      expect(h.entry().stats.fallbackSuccesses).to.equal(1);
      expect(h.counts('publish').rejected).to.equal(1);
      for (const s of sockets) s.close();
      h.registry.get('nats').fallback(null);
      await recovery(nc);
    });

    it('a fallback for publish only: refused publishes go to it, a refused flush or request still rejects with ECIRCUITOPEN', async () => {
      instrument();
      const nc = await client();
      const sent: unknown[][] = [];
      // The per-operation form, applied to the breaker the instrumentation already created.
      const breaker = h.registry.get('nats', {
        fallback: {
          publish: (subject: string, payload: string, ...rest: unknown[]) => {
            sent.push([subject, payload, (rest.pop() as { code?: string }).code]);
            return 'local';
          },
        },
      });
      expect(breaker).to.equal(h.entry().breaker);
      try {
        nc.publish('chat.before', 'connected');
        await nc.flush();
        expect(sent).to.deep.equal([]);
        await outage(nc);
        expect(nc.publish('chat.room', 'hello')).to.equal('local');
        expect(sent).to.deep.equal([['chat.room', 'hello', 'ECIRCUITOPEN']]);
        expectRefusal(await rejectionOf(nc.flush()));
        expectRefusal(await rejectionOf(nc.request('svc.x', 'x', { timeout: 500 })));
        expect(h.entry().stats.fallbackSuccesses).to.equal(1);
        expect(h.counts('publish').rejected).to.equal(1);
      } finally {
        h.registry.get('nats', { fallback: {} });
      }
      await recovery(nc);
    });

    it('recovers with half_open_max_calls: 1 when the only traffic is requests answered by a responder in the same process', async () => {
      instrument('    half_open_max_calls: 1\n');
      const nc = await client();
      let answered = 0;
      nc.subscribe('svc.echo', {
        callback: (_err, msg) => {
          answered++;
          msg.respond(msg.data);
        },
      });
      expect((await nc.request('svc.echo', 'one', { timeout: 1000 })).string()).to.equal('one');
      const publishes = h.counts('publish');

      await outage(nc);
      await recovery(nc);
      const reply = await eventually('a reply after the restart', async () => {
        try {
          return (await nc.request('svc.echo', 'two', { timeout: 1000 })).string();
        } catch (err) {
          // Refused while the probe runs; a TIMEOUT here would mean the trial was starved.
          expect((err as { code?: string }).code).to.equal('ECIRCUITOPEN');
          return undefined;
        }
      });
      expect(reply).to.equal('two');
      expect(h.transitions()).to.deep.equal(['closed', 'open', 'half_open', 'closed']);
      for (let i = 0; i < 5; i++) expect((await nc.request('svc.echo', `n${i}`, { timeout: 1000 })).string()).to.equal(`n${i}`);
      // Responses are never guarded calls, and a request's own publish is not a publish.
      expect(h.counts('publish')).to.deep.equal(publishes);
      expect(answered).to.equal(7);
    });

    it('refused connects pass CONNECTION_REFUSED through, open the breaker, then refuse without a socket', async () => {
      instrument();
      const port = await freePort();
      for (let i = 0; i < 2; i++) {
        const err = await rejectionOf(h.nats.connect({ servers: `127.0.0.1:${port}`, reconnect: false }));
        expect(err.code).to.equal('CONNECTION_REFUSED');
      }
      expect(h.entry().breaker.state).to.equal('open');
      expect(h.counts('connect').failure).to.equal(2);
      const peer = await startSilentServer();
      peers.push(peer);
      expectRefusal(await rejectionOf(h.nats.connect({ servers: `127.0.0.1:${peer.port}` })));
      await sleep(50);
      expect(peer.accepted).to.equal(0);
      // After the timeout the connect is its own trial.
      await sleep(1_100);
      const nc = await client();
      expect(h.entry().breaker.state).to.equal('closed');
      await nc.flush();
    });
  });
});

describe('nats patcher: per_target keeps one breaker per server', function () {
  this.timeout(60_000);
  let h: NatsHarness;
  let srv: PrivateNats;
  const connections: NatsConnection[] = [];

  before(requireService('nats on 127.0.0.1:4222', () => natsAvailable()));
  before(async function () {
    requireNatsServer(this);
    srv = await startPrivateNats();
    h = instrumentNats(`
circuit_breakers:
  nats:
    failure_threshold: 2
    timeout: 1
    per_target: true
    reconnect_failures: 1
    operations: [connect, publish, request, flush]
`);
  });
  after(async () => {
    h?.instrumentation.disable();
    await Promise.allSettled(connections.map((nc) => nc.close()));
    await srv?.cleanup();
  });

  it('opens only the child of the server that went down', async () => {
    const down = await h.nats.connect({ servers: srv.url, ...RECONNECT_FAST });
    const up = await h.nats.connect({ servers: 'nats://127.0.0.1:4222' });
    connections.push(down, up);
    const disconnected = nextStatus(down, 'disconnect');
    await srv.kill();
    await disconnected;
    const child = h.registry.entry(`nats@127.0.0.1:${srv.port}`);
    await eventually('the child of the dead server to open', () => child.breaker.state === 'open');
    const err = thrownBy(() => down.publish('x', 'y'));
    expect(err.code).to.equal('ECIRCUITOPEN');
    expect((err as unknown as BreakerOpenError).breaker).to.equal(`nats@127.0.0.1:${srv.port}`);
    up.publish('breakerbox.test.per_target', 'fine');
    await up.flush();
    expect(h.registry.entry('nats@127.0.0.1:4222').breaker.state).to.equal('closed');
    expect(h.entry().breaker.state).to.equal('closed');
    // connect() is keyed by the server it will try: the open child refuses it, without a socket.
    const refused = await rejectionOf(h.nats.connect({ servers: `nats://127.0.0.1:${srv.port}`, reconnect: false }));
    expect(refused.code).to.equal('ECIRCUITOPEN');
    expect(refused.breaker).to.equal(`nats@127.0.0.1:${srv.port}`);
  });
});

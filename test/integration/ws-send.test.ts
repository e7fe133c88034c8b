/**
 * `send` under the websocket breaker: refused on the client while its origin's breaker is
 * open (the way ws refuses a send it cannot make), and backpressure counted as slow calls on
 * both sides, with server-side sends never refused.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { expect } from 'chai';
import { WebSocketServer, type WebSocket as WsSocket } from 'ws';
import { REJECTED, SUCCESS } from '../../src/core/recorder';
import { DURATION_BUCKETS_S } from '../../src/registry/call-stats';
import type { ManagedBreaker } from '../../src/registry';
import { freePort } from '../helpers/free-port';
import { attempt, closed, flush, guardWs, open, sleep, wsBreakerYaml, type GuardedWs } from '../fixtures/ws/harness';

const N_BUCKETS = DURATION_BUCKETS_S.length + 1;

/** Calls of one operation and outcome. */
function count(entry: ManagedBreaker, operation: string, outcome: number): number {
  const op = entry.stats.operations.find((o) => o.name === operation);
  return op ? op.counts[outcome] : 0;
}

/** Successful calls of `operation` recorded at `minMs` or more (whole histogram buckets above it). */
function slowCalls(entry: ManagedBreaker, operation: string, minMs: number): number {
  const op = entry.stats.operations.find((o) => o.name === operation);
  if (!op) return 0;
  let n = 0;
  for (let b = 0; b < N_BUCKETS; b++) {
    const lower = b === 0 ? 0 : DURATION_BUCKETS_S[b - 1] * 1000;
    if (lower >= minMs * 0.5) n += op.buckets[SUCCESS * N_BUCKETS + b];
  }
  return n;
}

/**
 * A real ws server that can stop accepting new connections with 503 (an overloaded backend
 * behind a proxy) while the connections it has stay open.
 */
async function startRefusingServer(): Promise<{
  url: string;
  port: number;
  wss: WebSocketServer;
  messages: string[];
  refuse: boolean;
  close(): Promise<void>;
}> {
  const port = await freePort();
  const wss = new WebSocketServer({ noServer: true });
  const messages: string[] = [];
  const sockets = new Set<Duplex>();
  const server: Server = createServer((_req, res) => res.writeHead(426).end());
  const peer = {
    url: `ws://127.0.0.1:${port}/`,
    port,
    wss,
    messages,
    refuse: false,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    if (peer.refuse) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => undefined);
      ws.on('message', (d) => messages.push(String(d)));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return peer;
}

describe('ws patcher: client send', function () {
  this.timeout(30_000);
  let g: GuardedWs;

  before(() => {
    g = guardWs(wsBreakerYaml({ failure_threshold: 3, timeout: '1s' }));
  });

  after(() => g?.instrumentation.disable());

  it('refuses sends on an open connection while its origin is failing, the way ws refuses a send, and lets the trial through', async () => {
    const WebSocket = g.WebSocket;
    const server = await startRefusingServer();
    try {
      const ws = await open(WebSocket, server.url);
      await new Promise<void>((resolve, reject) => ws.send('before', (err) => (err ? reject(err) : resolve())));

      server.refuse = true;
      for (let i = 0; i < 3; i++) {
        expect((await attempt(WebSocket, server.url)).events).to.deep.equal(['error:Unexpected server response: 503', 'close:1006']);
      }
      const entry = g.entry(g.childFor(server.url));
      expect(entry.breaker.state).to.equal('open');

      // With a callback: called once, asynchronously, with the rejection.
      const calls: Array<{ err: (Error & { code?: string; breaker?: string }) | undefined; sync: boolean }> = [];
      let sync = true;
      ws.send('with-callback', (err) => calls.push({ err, sync }));
      ws.send('with-options', { binary: false }, (err) => calls.push({ err, sync }));
      sync = false;
      await flush();
      expect(calls.map((c) => [c.err?.code, c.err?.breaker, c.sync])).to.deep.equal([
        ['ECIRCUITOPEN', g.childFor(server.url), false],
        ['ECIRCUITOPEN', g.childFor(server.url), false],
      ]);
      // Without one: thrown, as ws throws for a send it cannot make while connecting.
      expect(() => ws.send('no-callback'))
        .to.throw()
        .with.property('code', 'ECIRCUITOPEN');
      expect(count(entry, 'send', REJECTED)).to.equal(3);
      expect(ws.readyState).to.equal(WebSocket.OPEN);

      await sleep(1_100);
      await new Promise<void>((resolve, reject) => ws.send('trial', (err) => (err ? reject(err) : resolve())));
      expect(entry.breaker.state).to.equal('closed');
      await sleep(50);
      expect(server.messages).to.deep.equal(['before', 'trial']);
      await closed(ws);
    } finally {
      await server.close();
    }
  });

  it('leaves sends on a socket that is not open to ws, even while the breaker is open', async () => {
    const WebSocket = g.WebSocket;
    const server = await startRefusingServer();
    try {
      const ws = await open(WebSocket, server.url);
      g.entry(g.childFor(server.url)).breaker.forceOpen();
      await closed(ws);
      const err = await new Promise<Error | undefined>((resolve) => ws.send('late', resolve));
      expect(err?.message).to.equal('WebSocket is not open: readyState 3 (CLOSED)');
      expect(() => ws.send('late')).not.to.throw();

      const connecting = new WebSocket(server.url);
      connecting.on('error', () => undefined);
      expect(() => connecting.send('early')).to.throw('WebSocket is not open: readyState 0 (CONNECTING)');
      g.entry(g.childFor(server.url)).breaker.close();
      connecting.terminate();
    } finally {
      await server.close();
    }
  });
});

describe('ws patcher: backpressure', function () {
  this.timeout(30_000);
  let g: GuardedWs;
  const CHUNK = Buffer.alloc(1024 * 1024, 1);

  before(() => {
    g = guardWs(
      wsBreakerYaml({
        failure_threshold: 3,
        timeout: '30s',
        max_buffered_amount: 64 * 1024,
        slow_call_duration: '200ms',
        slow_call_rate: 0.5,
        window_size: 10,
        minimum_calls: 4,
      }),
    );
  });

  after(() => g?.instrumentation.disable());

  it('counts client sends to a peer that stopped reading as slow, and opens the breaker on the slow-call rate', async () => {
    const WebSocket = g.WebSocket;
    const port = await freePort();
    const wss = new WebSocketServer({ port, host: '127.0.0.1' });
    // The peer accepts the connection and never reads from it.
    wss.on('connection', (socket: WsSocket & { _socket: Duplex }) => socket._socket.pause());
    try {
      const url = `ws://127.0.0.1:${port}/`;
      const ws = await open(WebSocket, url);
      const entry = g.entry(g.childFor(url));
      let sent = 0;
      let refused: (Error & { code?: string }) | undefined;
      for (let i = 0; i < 64 && refused === undefined; i++) {
        try {
          ws.send(CHUNK);
          sent++;
        } catch (err) {
          refused = err as Error;
        }
      }
      expect(slowCalls(entry, 'send', 200)).to.be.greaterThan(0);
      expect(entry.breaker.state).to.equal('open');
      expect(entry.breaker.lastTransition?.reason).to.equal('slow_call_rate');
      expect(refused?.code).to.equal('ECIRCUITOPEN');
      expect(count(entry, 'send', SUCCESS)).to.equal(sent);
      ws.terminate();
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  it('counts a broadcast to a client that stopped reading as slow for the server, and never refuses a server send', async () => {
    const WebSocket = g.WebSocket;
    const port = await freePort();
    const wss = new WebSocketServer({ port, host: '127.0.0.1' });
    try {
      const url = `ws://127.0.0.1:${port}/`;
      const healthy = await open(WebSocket, url);
      const slow = (await open(WebSocket, url)) as WsSocket & { _socket: Duplex };
      slow._socket.pause();
      let received = 0;
      healthy.on('message', () => received++);
      await sleep(50);
      expect(wss.clients.size).to.equal(2);

      const rounds = 24;
      for (let i = 0; i < rounds; i++) {
        for (const client of wss.clients) client.send(CHUNK);
      }
      const entry = g.entry(`websocket@server:${port}`);
      expect(slowCalls(entry, 'send', 200)).to.be.greaterThan(0);
      expect(entry.breaker.state).to.equal('open');
      expect(count(entry, 'send', REJECTED)).to.equal(0);
      // Every message still reached the client that reads.
      const deadline = Date.now() + 10_000;
      while (received < rounds && Date.now() < deadline) await sleep(20);
      expect(received).to.equal(rounds);
      // Client-side origins are unaffected by the server's slow consumer.
      expect(g.entry(g.childFor(url)).breaker.state).to.equal('closed');
      healthy.terminate();
      slow.terminate();
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});

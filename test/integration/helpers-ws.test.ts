import { createServer } from 'node:net';
import { expect } from 'chai';
import WebSocket from 'ws';
import { isWsFailure, wsStatusFromError } from '../../src/classify/ws';
import { spawnNode } from '../helpers/child-process';
import {
  closedPort,
  startResettingServer,
  startSilentServer,
  startStatusServer,
  startWsServer,
  type CountingPeer,
} from '../helpers/ws-peers';

interface Outcome {
  error?: Error & { code?: string };
  events: string[];
  closeCode?: number;
}

/** Connect, and report how the attempt ended (the test's own listeners on its own client). */
function attempt(url: string, opts?: WebSocket.ClientOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { events: [] };
    const ws = new WebSocket(url, opts);
    ws.on('open', () => {
      out.events.push('open');
      ws.close();
    });
    ws.on('error', (err) => {
      out.events.push('error');
      out.error ??= err;
    });
    ws.on('close', (code) => {
      out.events.push(`close:${code}`);
      out.closeCode = code;
      resolve(out);
    });
  });
}

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

describe('test helper: WebSocket peers', function () {
  this.timeout(20_000);
  const peers: CountingPeer[] = [];
  afterEach(async () => {
    await Promise.allSettled(peers.splice(0).map((p) => p.close()));
  });
  async function peer<T extends CountingPeer>(p: Promise<T>): Promise<T> {
    const started = await p;
    peers.push(started);
    return started;
  }

  describe('startWsServer', () => {
    it('echoes messages, records them and counts the TCP connection', async () => {
      const server = await peer(startWsServer());
      expect(server.accepted).to.equal(0);
      const ws = await open(server.url);
      const echoed = new Promise<string>((r) => ws.once('message', (d) => r(d.toString())));
      ws.send('ping-1');
      expect(await echoed).to.equal('ping-1');
      expect(server.messages).to.deep.equal(['ping-1']);
      expect(server.accepted).to.equal(1);
      expect(server.clients.size).to.equal(1);
      ws.close();
    });

    it('stop() drops clients with 1006 and refuses; start() serves again on the same port', async () => {
      const server = await peer(startWsServer());
      const ws = await open(server.url);
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      await server.stop();
      expect(await closed).to.equal(1006);
      expect(server.listening).to.equal(false);

      const refused = await attempt(server.url);
      expect(refused.error?.code).to.equal('ECONNREFUSED');
      expect(isWsFailure(refused.error)).to.equal(true);
      expect(server.accepted).to.equal(1);

      await server.start();
      const again = await open(server.url);
      expect(server.accepted).to.equal(2);
      again.close();
    });

    it('closeClients() sends a close frame (1001 by default)', async () => {
      const server = await peer(startWsServer());
      const ws = await open(server.url);
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      server.closeClients();
      expect(await closed).to.equal(1001);
    });

    it('serves an app running in a child process (spawnNode)', async () => {
      const server = await peer(startWsServer());
      const app = spawnNode(
        [
          '-e',
          `const WebSocket = require('ws');
           const ws = new WebSocket(process.env.PEER_URL);
           ws.on('open', () => { console.log('open'); ws.send('hello from child'); });
           ws.on('message', (d) => console.log('echo ' + d));`,
        ],
        { env: { PEER_URL: server.url }, cwd: process.cwd() },
      );
      try {
        expect(await app.waitForLine('open')).to.equal('open');
        expect(await app.waitForLine(/^echo /)).to.equal('echo hello from child');
        expect(server.messages).to.deep.equal(['hello from child']);
      } finally {
        const r = await app.kill();
        expect(r.signal).to.equal('SIGTERM');
      }
    });
  });

  describe('failure peers', () => {
    it('closedPort(): the client gets ECONNREFUSED, then close 1006', async () => {
      const out = await attempt(`ws://127.0.0.1:${await closedPort()}/`);
      expect(out.error?.code).to.equal('ECONNREFUSED');
      expect(out.events).to.deep.equal(['error', 'close:1006']);
    });

    it('startResettingServer(): the client gets ECONNRESET on an accepted connection', async () => {
      const server = await peer(startResettingServer());
      const out = await attempt(server.url);
      expect(out.error?.code).to.equal('ECONNRESET');
      expect(isWsFailure(out.error)).to.equal(true);
      expect(server.accepted).to.equal(1);
    });

    it('startStatusServer(502): the upgrade is answered with 502, a counted failure', async () => {
      const server = await peer(startStatusServer(502));
      const out = await attempt(server.url);
      expect(out.error?.message).to.equal('Unexpected server response: 502');
      expect(wsStatusFromError(out.error)).to.equal(502);
      expect(isWsFailure(out.error)).to.equal(true);
      expect(server.accepted).to.equal(1);
    });

    it('startStatusServer(401): answered with 401, not counted', async () => {
      const server = await peer(startStatusServer(401, { headers: { 'WWW-Authenticate': 'Bearer' } }));
      const out = await attempt(server.url);
      expect(wsStatusFromError(out.error)).to.equal(401);
      expect(isWsFailure(out.error)).to.equal(false);
    });

    it('startSilentServer(): accepts and never answers, so the handshake times out', async () => {
      const server = await peer(startSilentServer());
      const started = Date.now();
      const out = await attempt(server.url, { handshakeTimeout: 200 });
      expect(out.error?.message).to.equal('Opening handshake has timed out');
      expect(isWsFailure(out.error)).to.equal(true);
      expect(Date.now() - started).to.be.at.least(150);
      expect(server.accepted).to.equal(1);
    });

    it('counts nothing when nobody connects, and close() frees the port', async () => {
      const server = await startStatusServer(503);
      await new Promise((r) => setTimeout(r, 50));
      expect(server.accepted).to.equal(0);
      await server.close();
      await server.close();
      expect(await canBind(server.port)).to.equal(true);
    });
  });
});

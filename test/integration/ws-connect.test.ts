/**
 * The websocket breaker in front of `new WebSocket(url)`, against real peers: a ws server
 * the test kills and restarts, a listener that resets, HTTP servers answering with a status,
 * a server that never answers. "No socket" is proven with each peer's `accepted` counter.
 */
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import { expect } from 'chai';
import { BreakerOpenError } from '../../src/core';
import {
  closedPort,
  startResettingServer,
  startSilentServer,
  startStatusServer,
  startWsServer,
  type CountingPeer,
} from '../helpers/ws-peers';
import { attempt, guardWs, open, sleep, wsBreakerYaml, wsVersion, type GuardedWs } from '../fixtures/ws/harness';

const nodeRequire = createRequire(__filename);

// ws >= 8.13 hands the patcher its WebSocket through `finishRequest`; older versions are
// followed through the request instead. Both paths run against the installed ws.
for (const [label, asVersion] of [
  [`ws ${wsVersion()}`, undefined],
  ['as ws 8.12, before finishRequest', '8.12.0'],
] as const) {
  describe(`ws patcher: client connects per URL origin (${label})`, function () {
    this.timeout(30_000);
    let g: GuardedWs;
    const peers: CountingPeer[] = [];
    const peer = async <P extends CountingPeer>(p: Promise<P>): Promise<P> => {
      const started = await p;
      peers.push(started);
      return started;
    };
    const state = (url: string): string => g.entry(g.childFor(url)).breaker.state;
    const totals = (url: string): Record<string, number> => g.entry(g.childFor(url)).stats.totals();

    before(() => {
      g = guardWs(wsBreakerYaml({ failure_threshold: 3, timeout: '1s' }), { asVersion });
    });

    after(async () => {
      g?.instrumentation.disable();
      await Promise.all(peers.map((p) => p.close()));
    });

    it('patches ws in place: same exported class, real WebSocket instances', async () => {
      expect(g.patched()).to.equal(true);
      const WebSocket = g.WebSocket;
      expect(nodeRequire('ws')).to.equal(WebSocket);
      expect(WebSocket.WebSocket).to.equal(WebSocket);
      const server = await peer(startWsServer());
      const ws = await open(WebSocket, server.url);
      expect(ws).to.be.instanceOf(WebSocket);
      expect(Object.getPrototypeOf(ws)).to.equal(WebSocket.prototype);
      expect(ws.constructor).to.equal(WebSocket);
      ws.close();
    });

    it('opens the breaker of a killed server, then refuses connects asynchronously without a socket; a trial closes it again', async () => {
      const WebSocket = g.WebSocket;
      const server = await peer(startWsServer());
      const other = await peer(startWsServer());
      expect((await attempt(WebSocket, server.url)).events).to.deep.equal(['open', 'close:1005']);

      await server.stop();
      for (let i = 0; i < 3; i++) {
        expect((await attempt(WebSocket, server.url)).events).to.deep.equal(['error:ECONNREFUSED', 'close:1006']);
      }
      expect(state(server.url)).to.equal('open');

      // Back up, but the breaker is still open: the next connect must not reach it.
      await server.start();
      const accepted = server.accepted;
      const refused = await attempt(WebSocket, server.url);
      expect(refused.events).to.deep.equal(['error:ECIRCUITOPEN', 'close:1006']);
      expect(refused.syncError).to.equal(false);
      expect(refused.error).to.be.instanceOf(BreakerOpenError);
      expect(refused.error?.breaker).to.equal(g.childFor(server.url));
      expect(refused.ws).to.be.instanceOf(WebSocket);
      expect(refused.ws.readyState).to.equal(WebSocket.CLOSED);
      expect(server.accepted).to.equal(accepted);

      // Another origin keeps its own breaker.
      expect((await attempt(WebSocket, other.url)).events).to.deep.equal(['open', 'close:1005']);
      expect(state(other.url)).to.equal('closed');

      await sleep(1_100);
      expect((await attempt(WebSocket, server.url)).events).to.deep.equal(['open', 'close:1005']);
      expect(server.accepted).to.equal(accepted + 1);
      expect(state(server.url)).to.equal('closed');
      expect(totals(server.url)).to.deep.include({ success: 2, failure: 3, rejected: 1 });
    });

    it('reopens when the trial connect fails', async () => {
      const WebSocket = g.WebSocket;
      const url = `ws://127.0.0.1:${await closedPort()}/`;
      for (let i = 0; i < 3; i++) await attempt(WebSocket, url);
      expect(state(url)).to.equal('open');
      await sleep(1_100);
      expect((await attempt(WebSocket, url)).events).to.deep.equal(['error:ECONNREFUSED', 'close:1006']);
      expect(state(url)).to.equal('open');
      expect(g.entry(g.childFor(url)).breaker.lastTransition?.reason).to.equal('trial_failed');
    });

    it('counts connections the peer resets', async () => {
      const WebSocket = g.WebSocket;
      const server = await peer(startResettingServer());
      for (let i = 0; i < 3; i++) {
        expect((await attempt(WebSocket, server.url)).events).to.deep.equal(['error:ECONNRESET', 'close:1006']);
      }
      expect(state(server.url)).to.equal('open');
      const accepted = server.accepted;
      expect((await attempt(WebSocket, server.url)).events).to.deep.equal(['error:ECIRCUITOPEN', 'close:1006']);
      expect(server.accepted).to.equal(accepted);
    });

    it('counts 5xx answers to the upgrade and never opens for 4xx', async () => {
      const WebSocket = g.WebSocket;
      const bad = await peer(startStatusServer(502));
      for (let i = 0; i < 3; i++) {
        expect((await attempt(WebSocket, bad.url)).events).to.deep.equal(['error:Unexpected server response: 502', 'close:1006']);
      }
      expect(state(bad.url)).to.equal('open');
      const accepted = bad.accepted;
      expect((await attempt(WebSocket, bad.url)).events).to.deep.equal(['error:ECIRCUITOPEN', 'close:1006']);
      expect(bad.accepted).to.equal(accepted);

      for (const status of [401, 404]) {
        const server = await peer(startStatusServer(status));
        for (let i = 0; i < 5; i++) {
          expect((await attempt(WebSocket, server.url)).events).to.deep.equal([
            `error:Unexpected server response: ${status}`,
            'close:1006',
          ]);
        }
        expect(state(server.url)).to.equal('closed');
        expect(totals(server.url)).to.deep.include({ failure: 0, ignored: 5 });
        expect(server.accepted).to.equal(5);
      }
    });

    it('counts a 503 the app handles in unexpected-response, where ws emits no error', async () => {
      const WebSocket = g.WebSocket;
      const server = await peer(startStatusServer(503));
      for (let i = 0; i < 3; i++) {
        const events: string[] = [];
        await new Promise<void>((resolve) => {
          const ws = new WebSocket(server.url);
          ws.on('unexpected-response', (_req, res) => {
            events.push(`unexpected-response:${res.statusCode}`);
            res.resume();
            // Nothing else is emitted until the app ends the attempt itself.
            setTimeout(() => ws.terminate(), 50);
          });
          ws.on('error', (err) => events.push(`error:${err.message}`));
          ws.on('close', (code) => {
            events.push(`close:${code}`);
            resolve();
          });
        });
        expect(events).to.deep.equal([
          'unexpected-response:503',
          'error:WebSocket was closed before the connection was established',
          'close:1006',
        ]);
      }
      expect(totals(server.url)).to.deep.include({ failure: 3, ignored: 0 });
      expect(state(server.url)).to.equal('open');
    });

    it('counts opening handshakes that time out', async () => {
      const WebSocket = g.WebSocket;
      const server = await peer(startSilentServer());
      for (let i = 0; i < 3; i++) {
        expect((await attempt(WebSocket, server.url, { handshakeTimeout: 150 })).events).to.deep.equal([
          'error:Opening handshake has timed out',
          'close:1006',
        ]);
      }
      expect(state(server.url)).to.equal('open');
      expect(server.accepted).to.equal(3);
      await attempt(WebSocket, server.url, { handshakeTimeout: 150 });
      expect(server.accepted).to.equal(3);
    });

    it('refuses wss:// and connects through an agent without opening a socket', async () => {
      const WebSocket = g.WebSocket;
      const listener = await peer(startResettingServer());
      const cases: Array<[string, http.Agent]> = [
        [`wss://127.0.0.1:${listener.port}/`, new https.Agent({ keepAlive: true })],
        [`ws://127.0.0.1:${listener.port}/`, new http.Agent({ keepAlive: true })],
      ];
      for (const [url, agent] of cases) {
        const u = new URL(url);
        g.registry.child('websocket', `${u.protocol}//127.0.0.1:${listener.port}`).breaker.forceOpen();
        const out = await attempt(WebSocket, url, { agent });
        expect(out.events).to.deep.equal(['error:ECIRCUITOPEN', 'close:1006']);
        expect(out.error?.breaker).to.equal(`websocket@${u.protocol}//127.0.0.1:${listener.port}`);
        agent.destroy();
      }
      expect(listener.accepted).to.equal(0);
    });

    it('names breakers by origin only, never by path, query or credentials', async () => {
      const WebSocket = g.WebSocket;
      const server = await peer(startWsServer());
      const ws = await open(WebSocket, `ws://user:secret@127.0.0.1:${server.port}/chat/room-42?token=abc`);
      ws.close();
      const names = g.registry
        .list()
        .map((e) => e.breaker.name)
        .filter((n) => n.includes(String(server.port)));
      expect(names).to.deep.equal([`websocket@ws://127.0.0.1:${server.port}`]);
    });

    it('follows redirects: the redirecting origin answered, the target origin has its own breaker', async () => {
      const WebSocket = g.WebSocket;
      const target = await peer(startWsServer());
      const redirecting = await peer(startStatusServer(302, { headers: { Location: target.url } }));
      expect((await attempt(WebSocket, redirecting.url, { followRedirects: true })).events).to.deep.equal(['open', 'close:1005']);
      expect(totals(redirecting.url)).to.deep.include({ success: 1, failure: 0 });
      expect(totals(target.url)).to.deep.include({ success: 1 });

      g.entry(g.childFor(target.url)).breaker.forceOpen();
      const accepted = target.accepted;
      const out = await attempt(WebSocket, redirecting.url, { followRedirects: true });
      expect(out.events).to.deep.equal(['error:ECIRCUITOPEN', 'close:1006']);
      expect(out.error?.breaker).to.equal(g.childFor(target.url));
      expect(target.accepted).to.equal(accepted);
      expect(totals(redirecting.url)).to.deep.include({ success: 2, failure: 0 });
      g.entry(g.childFor(target.url)).breaker.close();
    });

    it("keeps the app's finishRequest: called once with the request and the WebSocket", async () => {
      const WebSocket = g.WebSocket;
      const server = await peer(startWsServer());
      const calls: unknown[][] = [];
      const ws = new WebSocket(server.url, {
        finishRequest(req, websocket) {
          calls.push([req.constructor.name, websocket instanceof WebSocket]);
          req.setHeader('X-App', '1');
          req.end();
        },
      });
      await new Promise((resolve) => ws.once('open', resolve));
      ws.close();
      expect(calls).to.deep.equal([['ClientRequest', true]]);
      expect(totals(server.url)).to.deep.include({ success: 1 });
    });

    it('stops guarding on disable() and guards again on enable()', async () => {
      const WebSocket = g.WebSocket;
      const url = `ws://127.0.0.1:${await closedPort()}/`;
      g.registry.child('websocket', new URL(url).origin).breaker.forceOpen();
      expect((await attempt(WebSocket, url)).events).to.deep.equal(['error:ECIRCUITOPEN', 'close:1006']);

      g.instrumentation.disable();
      expect(g.patched()).to.equal(false);
      expect(Object.prototype.hasOwnProperty.call(WebSocket.prototype, 'emit')).to.equal(false);
      expect((await attempt(WebSocket, url)).events).to.deep.equal(['error:ECONNREFUSED', 'close:1006']);
      expect(totals(url)).to.deep.include({ rejected: 1, failure: 0 });

      g.instrumentation.enable();
      expect(g.patched()).to.equal(true);
      expect((await attempt(WebSocket, url)).events).to.deep.equal(['error:ECIRCUITOPEN', 'close:1006']);
      expect(totals(url)).to.deep.include({ rejected: 2, failure: 0 });
    });

    it('leaves no wrapper on the request the app is handed', async () => {
      const WebSocket = g.WebSocket;
      const server = await peer(startStatusServer(500));
      const own = await new Promise<boolean[]>((resolve) => {
        const ws = new WebSocket(server.url);
        ws.on('unexpected-response', (req, res) => {
          res.resume();
          ws.on('close', () =>
            resolve([Object.prototype.hasOwnProperty.call(req, 'emit'), Object.prototype.hasOwnProperty.call(res, 'emit')]),
          );
          ws.on('error', () => undefined);
          ws.terminate();
        });
      });
      expect(own).to.deep.equal([false, false]);
      expect(totals(server.url)).to.deep.include({ failure: 1 });
    });
  });
}

describe('ws patcher: connect configuration', function () {
  this.timeout(30_000);
  let g: GuardedWs | undefined;

  afterEach(() => {
    g?.instrumentation.disable();
    g = undefined;
  });

  it('with per_target: false, one breaker guards every origin', async () => {
    g = guardWs(wsBreakerYaml({ failure_threshold: 2, per_target: false }));
    const a = `ws://127.0.0.1:${await closedPort()}/`;
    const b = `ws://127.0.0.1:${await closedPort()}/`;
    await attempt(g.WebSocket, a);
    await attempt(g.WebSocket, b);
    const out = await attempt(g.WebSocket, a);
    expect(out.events).to.deep.equal(['error:ECIRCUITOPEN', 'close:1006']);
    expect(out.error?.breaker).to.equal('websocket');
    expect(g.registry.list().map((e) => e.breaker.name)).to.deep.equal(['websocket']);
  });

  it('with operations: [send], connects are not guarded and http is left alone', async () => {
    g = guardWs(wsBreakerYaml({ failure_threshold: 1, operations: ['send'] }));
    expect(Object.prototype.hasOwnProperty.call(g.WebSocket.prototype, 'emit')).to.equal(false);
    expect(http.request.name).to.equal('request');
    const url = `ws://127.0.0.1:${await closedPort()}/`;
    for (let i = 0; i < 3; i++) expect((await attempt(g.WebSocket, url)).events).to.deep.equal(['error:ECONNREFUSED', 'close:1006']);
    expect(g.registry.has(g.childFor(url))).to.equal(false);
  });

  it('in metrics_only mode, records and never refuses', async () => {
    g = guardWs(wsBreakerYaml({ failure_threshold: 1, mode: 'metrics_only' }));
    const server = await startWsServer();
    try {
      await server.stop();
      await attempt(g.WebSocket, server.url);
      expect(g.entry(g.childFor(server.url)).breaker.state).to.equal('open');
      await server.start();
      expect((await attempt(g.WebSocket, server.url)).events).to.deep.equal(['open', 'close:1005']);
      expect(g.entry(g.childFor(server.url)).stats.totals()).to.deep.include({ failure: 1, success: 1, rejected: 0 });
    } finally {
      await server.close();
    }
  });
});

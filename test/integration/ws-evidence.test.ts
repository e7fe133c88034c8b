/**
 * What the websocket breaker takes as evidence in half-open, against real peers: a connect
 * the app aborts before the handshake says nothing about the peer, so it frees the trial
 * slot without closing the breaker; the next real attempt decides.
 */
import { expect } from 'chai';
import { startSilentServer, startWsServer, type CountingPeer } from '../helpers/ws-peers';
import { attempt, guardWs, sleep, wsBreakerYaml, type GuardedWs, type WebSocketClass } from '../fixtures/ws/harness';

const RESET_MS = 300;

/** Starts a connect and aborts it before the peer answered, the way an app gives up. */
function abortedConnect(WebSocket: WebSocketClass, url: string): Promise<string[]> {
  return new Promise((resolve) => {
    const events: string[] = [];
    const ws = new WebSocket(url);
    ws.on('error', (err: Error) => events.push(`error:${err.message}`));
    ws.on('close', (code: number) => {
      events.push(`close:${code}`);
      resolve(events);
    });
    setTimeout(() => ws.terminate(), 50);
  });
}

describe('ws patcher: what a half-open websocket breaker takes as evidence', function () {
  this.timeout(20_000);
  let g: GuardedWs;
  const peers: CountingPeer[] = [];

  before(() => {
    g = guardWs(wsBreakerYaml({ failure_threshold: 3, timeout: `${RESET_MS}ms` }));
  });
  after(async () => {
    g?.instrumentation.disable();
    await Promise.all(peers.map((p) => p.close()));
  });

  it('an aborted connect to a peer that never answers neither closes the breaker nor uses up its trial', async () => {
    const WebSocket = g.WebSocket;
    const silent = await startSilentServer();
    peers.push(silent);
    // Looked up after the first connect made it (the per-origin child of `websocket`).
    const state = (): string => g.entry(g.childFor(silent.url)).breaker.state;
    for (let i = 0; i < 3; i++) {
      expect((await attempt(WebSocket, silent.url, { handshakeTimeout: 150 })).events).to.deep.equal([
        'error:Opening handshake has timed out',
        'close:1006',
      ]);
    }
    expect(state()).to.equal('open');
    await sleep(RESET_MS + 50);

    const accepted = silent.accepted;
    expect(await abortedConnect(WebSocket, silent.url)).to.deep.equal([
      'error:WebSocket was closed before the connection was established',
      'close:1006',
    ]);
    expect(silent.accepted, 'the aborted connect was admitted as the trial').to.equal(accepted + 1);
    expect(state(), 'after the aborted trial').to.equal('half_open');

    // The slot is free again: the next connect is the trial, and it decides.
    expect((await attempt(WebSocket, silent.url, { handshakeTimeout: 150 })).events).to.deep.equal([
      'error:Opening handshake has timed out',
      'close:1006',
    ]);
    expect(silent.accepted).to.equal(accepted + 2);
    expect(state()).to.equal('open');
    expect(g.entry(g.childFor(silent.url)).stats.totals()).to.deep.include({ timeout: 4, ignored: 1 });
  });

  it('after an aborted trial, a connect that opens closes the breaker', async () => {
    const WebSocket = g.WebSocket;
    const server = await startWsServer();
    peers.push(server);
    const state = (): string => g.entry(g.childFor(server.url)).breaker.state;
    await server.stop();
    for (let i = 0; i < 3; i++) {
      expect((await attempt(WebSocket, server.url)).events).to.deep.equal(['error:ECONNREFUSED', 'close:1006']);
    }
    expect(state()).to.equal('open');
    await server.start();
    await sleep(RESET_MS + 50);

    // Aborted at once, before even the TCP connect completes.
    const events = await new Promise<string[]>((resolve) => {
      const seen: string[] = [];
      const ws = new WebSocket(server.url);
      ws.on('error', (err: Error) => seen.push(`error:${err.message}`));
      ws.on('close', (code: number) => {
        seen.push(`close:${code}`);
        resolve(seen);
      });
      ws.terminate();
    });
    expect(events).to.deep.equal(['error:WebSocket was closed before the connection was established', 'close:1006']);
    expect(state()).to.equal('half_open');
    expect((await attempt(WebSocket, server.url)).events).to.deep.equal(['open', 'close:1005']);
    expect(state()).to.equal('closed');
  });
});

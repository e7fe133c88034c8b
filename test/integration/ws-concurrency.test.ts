/**
 * A concurrency limit on the websocket breaker: connects still in their handshake hold a slot
 * (per origin, since ws breakers are per target), and a connect over the limit is refused the
 * way a refused connect looks (`error` then `close` 1006), without a socket. `send` is
 * synchronous and never limited.
 */
import { expect } from 'chai';
import { ConcurrencyLimitError } from '../../src/core';
import { startSilentServer, startWsServer, type CountingPeer } from '../helpers/ws-peers';
import { attempt, closed, guardWs, open, wsBreakerYaml, type GuardedWs } from '../fixtures/ws/harness';

const LIMIT = 2;

describe('ws patcher: concurrency limit on connects (real peers)', function () {
  this.timeout(30_000);
  let g: GuardedWs;
  const peers: CountingPeer[] = [];

  before(() => {
    g = guardWs(wsBreakerYaml({ concurrency: { limit: LIMIT } } as never));
  });
  after(async () => {
    g?.instrumentation.disable();
    await Promise.all(peers.map((p) => p.close()));
  });

  it('refuses a connect over the limit with error + close 1006, asynchronously and without a socket', async () => {
    const silent = await startSilentServer();
    const server = await startWsServer();
    peers.push(silent, server);
    const WebSocket = g.WebSocket;
    const hanging = [new WebSocket(silent.url), new WebSocket(silent.url)];
    const ended = hanging.map((ws) => new Promise((resolve) => ws.on('close', resolve)));
    for (const ws of hanging) ws.on('error', () => undefined);
    const child = g.entry(g.childFor(silent.url)).breaker;
    expect(child.inflight).to.equal(LIMIT);
    while (silent.accepted < LIMIT) await new Promise((r) => setTimeout(r, 5));

    const refused = await attempt(WebSocket, silent.url);
    expect(refused.events).to.deep.equal(['error:ECONCURRENCYLIMIT', 'close:1006']);
    expect(refused.syncError).to.equal(false);
    expect(refused.error).to.be.instanceOf(ConcurrencyLimitError);
    expect((refused.error as unknown as ConcurrencyLimitError).breaker).to.equal(child.name);
    expect(silent.accepted, 'no socket for the refused connect').to.equal(LIMIT);

    // Another origin has a limit of its own; sends are never limited.
    const ws = await open(WebSocket, server.url);
    ws.send('while the other origin is full');
    await closed(ws);

    for (const h of hanging) h.terminate();
    await Promise.all(ended);
    expect(child.inflight, 'a connect the app gave up gives its slot back').to.equal(0);
    expect(child.state).to.equal('closed');
    expect(g.entry(g.childFor(silent.url)).stats.totals().limited).to.equal(1);
  });
});

/**
 * With the websocket breaker closed, an app cannot tell it is there: the same client/server
 * conversation gives the same events in the same order, the same callback arguments, the
 * same errors and listener counts, with the patch applied and after disable(). An app with
 * no 'error' listener dies of a refused connect exactly as it would without us.
 */
import { resolve } from 'node:path';
import { expect } from 'chai';
import type WsClass from 'ws';
import { runNode } from '../helpers/child-process';
import { closedPort, startStatusServer, startWsServer, type WsServerPeer } from '../helpers/ws-peers';
import { closed, flush, guardWs, sleep, wsBreakerYaml, type GuardedWs, type WebSocketClass } from '../fixtures/ws/harness';

const REPO = resolve(__dirname, '../..');
const EVENTS = ['open', 'message', 'error', 'close', 'upgrade', 'unexpected-response', 'ping', 'pong'] as const;

function counts(ws: WsClass): string {
  return EVENTS.map((e) => `${e}=${ws.listenerCount(e)}`).join(',');
}

function describeArgs(args: unknown[]): string {
  return JSON.stringify(
    args.map((a) => {
      if (a === undefined) return 'undefined';
      if (a === null) return 'null';
      if (Buffer.isBuffer(a)) return `buffer:${a.toString('utf8')}`;
      if (a instanceof Error) return `error:${(a as Error & { code?: string }).code ?? ''}:${a.message}`;
      if (typeof a === 'object') return `object:${a.constructor.name}`;
      return a;
    }),
  );
}

/** Everything an app could observe of one conversation, as lines. */
async function conversation(WebSocket: WebSocketClass, server: WsServerPeer, refusedUrl: string, badUrl: string): Promise<string[]> {
  const log: string[] = [];
  const ws = new WebSocket(server.url);
  log.push(`constructed readyState=${ws.readyState} counts=${counts(ws)} keys=${Object.keys(ws).join('|')}`);
  for (const e of EVENTS) ws.on(e, (...args: unknown[]) => log.push(`event ${e} ${describeArgs(args)}`));
  log.push(`listening counts=${counts(ws)}`);
  try {
    ws.send('too early');
  } catch (err) {
    log.push(`send while connecting threw ${(err as Error).message}`);
  }
  await new Promise((r) => ws.once('open', r));
  log.push(`open readyState=${ws.readyState} protocol=${ws.protocol} url=${ws.url}`);

  ws.send('no callback');
  await new Promise<void>((r) =>
    ws.send('with callback', function (this: unknown, ...args: unknown[]) {
      log.push(`callback ${describeArgs(args)} this=${this === undefined ? 'undefined' : typeof this}`);
      r();
    }),
  );
  await new Promise<void>((r) =>
    ws.send(Buffer.from('binary'), { binary: true }, (...args: unknown[]) => {
      log.push(`callback options ${describeArgs(args)}`);
      r();
    }),
  );
  ws.ping('p');
  while (server.messages.length < 3) await sleep(5);
  await sleep(30);

  ws.close(4000, 'bye');
  await new Promise((r) => ws.once('close', r));
  log.push(`closed readyState=${ws.readyState} counts=${counts(ws)}`);
  await new Promise<void>((r) =>
    ws.send('late', (...args: unknown[]) => {
      log.push(`late callback ${describeArgs(args)}`);
      r();
    }),
  );
  ws.send('late, no callback');
  log.push(`after late sends bufferedAmount=${ws.bufferedAmount}`);

  // Closed by the server.
  const other = new WebSocket(server.url);
  await new Promise((r) => other.once('open', r));
  const byServer = new Promise<string>((r) => other.once('close', (code, reason) => r(`${code}:${String(reason)}`)));
  server.closeClients(1001);
  log.push(`closed by server ${await byServer}`);

  // A refused connect, with an 'error' listener.
  const refused = new WebSocket(refusedUrl);
  const refusedEvents: string[] = [];
  let sync = true;
  refused.on('error', (err: Error & { code?: string }) => refusedEvents.push(`error:${err.code}${sync ? ':sync' : ''}`));
  refused.on('close', (code) => refusedEvents.push(`close:${code}`));
  sync = false;
  await new Promise((r) => refused.once('close', r));
  log.push(`refused ${refusedEvents.join(',')} readyState=${refused.readyState} counts=${counts(refused)}`);

  // A 502 answered to an app that handles 'unexpected-response' itself.
  const handled = new WebSocket(badUrl);
  const handledEvents: string[] = [];
  handled.on('unexpected-response', (req, res) => {
    handledEvents.push(`unexpected-response:${res.statusCode}:${req.constructor.name}`);
    res.resume();
    setTimeout(() => handled.terminate(), 30);
  });
  handled.on('error', (err) => handledEvents.push(`error:${err.message}`));
  handled.on('close', (code) => handledEvents.push(`close:${code}`));
  await new Promise((r) => handled.once('close', r));
  log.push(`handled ${handledEvents.join(',')}`);
  await flush();
  return log;
}

describe('ws patcher: parity while the breaker is closed', function () {
  this.timeout(30_000);
  let g: GuardedWs;

  before(() => {
    g = guardWs(wsBreakerYaml({ failure_threshold: 50 }));
  });

  after(() => g?.instrumentation.disable());

  it('gives the same events, callbacks, errors and listener counts as ws alone', async () => {
    const server = await startWsServer();
    const bad = await startStatusServer(502);
    try {
      const refusedUrl = `ws://127.0.0.1:${await closedPort()}/`;
      expect(g.patched()).to.equal(true);
      const guarded = await conversation(g.WebSocket, server, refusedUrl, bad.url);
      expect(g.entry(g.childFor(server.url)).stats.totals()).to.deep.include({ success: 5, failure: 0, rejected: 0 });
      expect(g.entry(g.childFor(refusedUrl)).stats.totals()).to.deep.include({ failure: 1 });

      g.instrumentation.disable();
      expect(g.patched()).to.equal(false);
      server.messages.length = 0;
      const plain = await conversation(g.WebSocket, server, refusedUrl, bad.url);
      g.instrumentation.enable();

      expect(guarded).to.deep.equal(plain);
      expect(plain).to.include(
        'refused error:ECONNREFUSED,close:1006 readyState=3 counts=open=0,message=0,error=1,close=1,upgrade=0,unexpected-response=0,ping=0,pong=0',
      );
    } finally {
      await server.close();
      await bad.close();
    }
  });

  it('leaves the client objects as ws built them', async () => {
    const server = await startWsServer();
    try {
      const ws = new g.WebSocket(server.url);
      await new Promise((r) => ws.once('open', r));
      const own = Object.getOwnPropertyNames(ws).sort();
      const symbols = Object.getOwnPropertySymbols(ws).length;
      const inherited: string[] = [];

      for (const k in ws) inherited.push(k);
      await closed(ws);

      g.instrumentation.disable();
      const plain = new g.WebSocket(server.url);
      await new Promise((r) => plain.once('open', r));
      const plainInherited: string[] = [];

      for (const k in plain) plainInherited.push(k);
      expect(own).to.deep.equal(Object.getOwnPropertyNames(plain).sort());
      expect(symbols).to.equal(Object.getOwnPropertySymbols(plain).length);
      expect(inherited.sort()).to.deep.equal(plainInherited.sort());
      await closed(plain);
      g.instrumentation.enable();
    } finally {
      await server.close();
    }
  });
});

describe('ws patcher: an app with no error listener', function () {
  this.timeout(30_000);

  const preload = ['-r', 'tsx/cjs', '-r', './test/fixtures/ws/guard-preload.ts'];

  function errorLines(stderr: string): string[] {
    const lines = stderr.split('\n');
    return [
      lines.find((l) => /^\S*Error\b|^\[\S*Error\b/.test(l)) ?? '(no error line)',
      lines.find((l) => l.startsWith("Emitted 'error' event")) ?? '(no emitted line)',
    ];
  }

  it('dies of a refused connect exactly as without the instrumentation', async () => {
    const url = `ws://127.0.0.1:${await closedPort()}/`;
    const plain = await runNode(['-r', 'tsx/cjs', 'test/fixtures/ws/crash-app.js'], { cwd: REPO, env: { PEER_URL: url } });
    const guarded = await runNode([...preload, 'test/fixtures/ws/crash-app.js'], { cwd: REPO, env: { PEER_URL: url } });
    expect(plain.code).to.equal(1);
    expect(guarded.code).to.equal(plain.code);
    expect(guarded.signal).to.equal(plain.signal);
    expect(errorLines(plain.stderr)[0]).to.match(/^Error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(errorLines(guarded.stderr)).to.deep.equal(errorLines(plain.stderr));
  });

  it('dies of the rejection the same way once the breaker is open', async () => {
    const url = `ws://127.0.0.1:${await closedPort()}/`;
    const r = await runNode([...preload, 'test/fixtures/ws/crash-app.js'], {
      cwd: REPO,
      env: { PEER_URL: url, BBX_MODE: 'after-failure', BBX_WS_YAML: 'circuit_breakers:\n  websocket:\n    failure_threshold: 1\n' },
    });
    expect(r.stdout).to.equal('first: ECONNREFUSED\n');
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include("Unhandled 'error' event");
    expect(r.stderr).to.include(`Circuit breaker "websocket@${url.slice(0, -1)}" is open`);
  });
});

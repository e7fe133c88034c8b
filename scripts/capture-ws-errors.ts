/**
 * Produces real errors from a `ws` client against local misbehaving peers and records
 * them in test/unit/classify/fixtures/ws-errors.json, each with the classification we
 * decided it must get (DESIGN.md §3), plus the order of events the client emitted.
 *
 *   npx tsx scripts/capture-ws-errors.ts
 *
 * Every peer listens on 127.0.0.1 only.
 */
import { createServer, type Server } from 'node:net';
import WebSocket from 'ws';
import { freePort } from '../test/helpers/free-port';
import {
  closedPort,
  startResettingServer,
  startSilentServer,
  startStatusServer,
  startWsServer,
  type CountingPeer,
} from '../test/helpers/ws-peers';
import { captureAll, fixturePath, installedVersion, runScript, summarize, writeFixture, type ErrorSummary } from './lib/capture';

interface Captured {
  error: unknown;
  /** What the client emitted, in order, e.g. ["error", "close:1006"]; empty for a sync throw. */
  events: string[];
  /** How the error reached the app. */
  via: 'event' | 'throw' | 'callback';
}

interface Scenario {
  id: string;
  scenario: string;
  /** The message (or code) the library must produce; capturing fails loudly if it changed. */
  expect: { message?: string | RegExp; code?: string };
  failure: boolean;
  kind: string;
  status?: number;
  run: () => Promise<Captured>;
}

const FIXTURE = fixturePath('ws-errors.json');

/** The fields of a ws or socket error worth keeping. */
const WS_FIELDS = {
  strings: ['name', 'message', 'syscall', 'address'],
  numbers: ['errno', 'port'],
  nested: ['cause'],
  errors: true,
} as const;

const peers: CountingPeer[] = [];
const rawServers: Server[] = [];

async function peer<T extends CountingPeer>(p: Promise<T>): Promise<T> {
  const started = await p;
  peers.push(started);
  return started;
}

/** Connect and collect the first error plus the close that follows it. */
function connectError(url: string, opts?: WebSocket.ClientOptions, onCreate?: (ws: WebSocket) => void): Promise<Captured> {
  return new Promise((resolve, reject) => {
    const events: string[] = [];
    let error: unknown;
    const ws = new WebSocket(url, opts);
    ws.on('open', () => events.push('open'));
    ws.on('error', (err) => {
      events.push('error');
      error ??= err;
    });
    ws.on('close', (code) => {
      events.push(`close:${code}`);
      if (error === undefined) reject(new Error(`closed (${code}) without an error; events ${events.join(',')}`));
      else resolve({ error, events, via: 'event' });
    });
    onCreate?.(ws);
  });
}

function thrown(fn: () => unknown): Promise<Captured> {
  try {
    fn();
  } catch (error) {
    return Promise.resolve({ error, events: [], via: 'throw' });
  }
  return Promise.reject(new Error('expected a throw'));
}

const scenarios: Scenario[] = [
  {
    id: 'connect-refused',
    scenario: 'new WebSocket() to a loopback port nothing listens on',
    expect: { code: 'ECONNREFUSED' },
    failure: true,
    kind: 'connection_refused',
    run: async () => connectError(`ws://127.0.0.1:${await closedPort()}/`),
  },
  {
    id: 'connect-reset',
    scenario: 'new WebSocket() to a TCP server that accepts, then resets (RST)',
    expect: { code: 'ECONNRESET' },
    failure: true,
    kind: 'connection_reset',
    run: async () => connectError((await peer(startResettingServer())).url),
  },
  {
    id: 'connect-hang-up',
    scenario: 'new WebSocket() to a TCP server that accepts, then closes (FIN) without answering',
    expect: { code: 'ECONNRESET', message: 'socket hang up' },
    failure: true,
    kind: 'connection_reset',
    run: async () => {
      const port = await freePort();
      const srv = createServer((s) => s.end());
      await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
      rawServers.push(srv);
      return connectError(`ws://127.0.0.1:${port}/`);
    },
  },
  ...[502, 503, 500].map((status) => ({
    id: `upgrade-${status}`,
    scenario: `new WebSocket() to an HTTP server answering the upgrade with ${status}`,
    expect: { message: `Unexpected server response: ${status}` },
    failure: true,
    kind: 'server_error',
    status,
    run: async () => connectError((await peer(startStatusServer(status))).url),
  })),
  ...[401, 403, 404, 429].map((status) => ({
    id: `upgrade-${status}`,
    scenario: `new WebSocket() to an HTTP server answering the upgrade with ${status}`,
    expect: { message: `Unexpected server response: ${status}` },
    failure: false,
    kind: 'client_status',
    status,
    run: async () => connectError((await peer(startStatusServer(status))).url),
  })),
  {
    id: 'upgrade-200',
    scenario: 'new WebSocket() to a plain HTTP server answering 200 (not a WebSocket endpoint)',
    expect: { message: 'Unexpected server response: 200' },
    failure: false,
    kind: 'unexpected_status',
    status: 200,
    run: async () => connectError((await peer(startStatusServer(200))).url),
  },
  {
    id: 'handshake-timeout',
    scenario: 'new WebSocket(url, { handshakeTimeout: 200 }) to a server that accepts TCP and never answers',
    expect: { message: 'Opening handshake has timed out' },
    failure: true,
    kind: 'handshake_timeout',
    run: async () => connectError((await peer(startSilentServer())).url, { handshakeTimeout: 200 }),
  },
  {
    id: 'invalid-url',
    scenario: "new WebSocket('not a url')",
    expect: { message: 'Invalid URL: not a url' },
    failure: false,
    kind: 'invalid_argument',
    run: () => thrown(() => new WebSocket('not a url')),
  },
  {
    id: 'invalid-scheme',
    scenario: "new WebSocket('ftp://127.0.0.1/')",
    expect: { message: /^The URL's protocol must be one of/ },
    failure: false,
    kind: 'invalid_argument',
    run: () => thrown(() => new WebSocket('ftp://127.0.0.1/')),
  },
  {
    id: 'invalid-subprotocol',
    scenario: "new WebSocket(url, ['bad protocol'])",
    expect: { message: 'An invalid or duplicated subprotocol was specified' },
    failure: false,
    kind: 'invalid_argument',
    run: async () => thrown(() => new WebSocket(`ws://127.0.0.1:${1}/`, ['bad protocol'])),
  },
  {
    id: 'send-while-connecting',
    scenario: 'send() right after new WebSocket(), before open',
    expect: { message: 'WebSocket is not open: readyState 0 (CONNECTING)' },
    failure: false,
    kind: 'not_open',
    run: async () => {
      const server = await peer(startWsServer());
      const ws = new WebSocket(server.url);
      const captured = await thrown(() => ws.send('too early'));
      await new Promise<void>((r) => {
        ws.on('open', () => ws.close());
        ws.on('close', () => r());
      });
      return captured;
    },
  },
  {
    id: 'send-after-close',
    scenario: 'send(data, cb) after the connection closed: the callback gets the error',
    expect: { message: 'WebSocket is not open: readyState 3 (CLOSED)' },
    failure: false,
    kind: 'not_open',
    run: async () => {
      const server = await peer(startWsServer());
      const ws = new WebSocket(server.url);
      await new Promise<void>((r) => ws.on('open', () => r()));
      await new Promise<void>((r) => {
        ws.on('close', () => r());
        ws.close();
      });
      return new Promise<Captured>((resolve) => ws.send('too late', (error) => resolve({ error, events: [], via: 'callback' })));
    },
  },
  {
    id: 'close-while-connecting',
    scenario: 'close() before the handshake finished',
    expect: { message: 'WebSocket was closed before the connection was established' },
    failure: false,
    kind: 'aborted',
    run: async () => {
      const server = await peer(startSilentServer());
      return connectError(server.url, undefined, (ws) => ws.close());
    },
  },
  {
    id: 'peer-invalid-opcode',
    scenario: 'the peer sends a frame with reserved opcode 3',
    expect: { code: 'WS_ERR_INVALID_OPCODE' },
    failure: false,
    kind: 'protocol',
    run: async () => {
      const server = await peer(startWsServer());
      server.wss.on('connection', (ws) => {
        // Below the ws API on purpose: a well-behaved server cannot send this frame.
        (ws as unknown as { _socket: { write(b: Buffer): void } })._socket.write(Buffer.from([0x83, 0x00]));
      });
      return connectError(server.url);
    },
  },
  {
    id: 'peer-message-too-big',
    scenario: 'the peer sends a 1 KiB message to a client with maxPayload: 16',
    expect: { code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' },
    failure: false,
    kind: 'protocol',
    run: async () => {
      const server = await peer(startWsServer());
      server.wss.on('connection', (ws) => ws.send(Buffer.alloc(1024)));
      return connectError(server.url, { maxPayload: 16 });
    },
  },
];

function matches(summary: ErrorSummary, expect: Scenario['expect']): boolean {
  if (expect.code !== undefined && summary.code !== expect.code) return false;
  if (expect.message instanceof RegExp) return expect.message.test(summary.message ?? '');
  if (expect.message !== undefined) return summary.message === expect.message;
  return true;
}

async function main(): Promise<void> {
  const wsVersion = installedVersion('ws');
  const cases: unknown[] = [];
  let problems: string[];
  try {
    problems = await captureAll(scenarios, (s, captured) => {
      const summary = summarize(captured.error, WS_FIELDS);
      cases.push({
        id: s.id,
        scenario: s.scenario,
        error: summary,
        observed: { via: captured.via, events: captured.events },
        expected: { failure: s.failure, kind: s.kind, status: s.status ?? null },
      });
      process.stdout.write(`${s.id}: ${String(summary.code ?? '-')} ${summary.message ?? ''} [${captured.events.join(' ')}]\n`);
      return matches(summary, s.expect) ? null : `expected ${JSON.stringify(s.expect)}, got ${String(summary.code)} / ${summary.message}`;
    });
  } finally {
    await Promise.allSettled(peers.map((p) => p.close()));
    for (const srv of rawServers) srv.close();
  }
  const fixture = { module: 'ws', capturedWith: { ws: wsVersion, node: process.version }, cases };
  writeFixture(FIXTURE, fixture, problems);
}

runScript(main);

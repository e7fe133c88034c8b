/**
 * WebSocket peers for tests, each on its own free loopback port and each counting the
 * TCP connections it accepted, so a test can prove that a rejected call opened no socket:
 *
 * ```ts
 * const peer = await startStatusServer(502);
 * after(() => peer.close());
 * // ... breaker opens, the next `new WebSocket(peer.url)` is rejected ...
 * expect(peer.accepted).to.equal(before);
 * ```
 *
 * - {@link startWsServer}: a real `ws` WebSocketServer (echoes by default), with
 *   `stop()`/`start()` on the same port to simulate an outage.
 * - {@link startResettingServer}: accepts TCP, then resets it (client: ECONNRESET).
 * - {@link startStatusServer}: answers every upgrade request with one HTTP status.
 * - {@link startSilentServer}: accepts TCP and never answers (handshake timeouts).
 * - {@link closedPort}: a port nothing listens on (client: ECONNREFUSED).
 */
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { freePort } from './free-port';

/** What every peer here offers. */
export interface CountingPeer {
  readonly port: number;
  /** `ws://127.0.0.1:<port>/`. */
  readonly url: string;
  /** TCP connections accepted since the peer was created (kept across stop/start). */
  readonly accepted: number;
  /** Stop listening, destroy every open socket and release the port. Idempotent. */
  close(): Promise<void>;
}

export interface WsServerPeer extends CountingPeer {
  /** The underlying server (`noServer` mode, so it survives stop/start). */
  readonly wss: WebSocketServer;
  /** Open server-side connections. */
  readonly clients: ReadonlySet<WebSocket>;
  /** Messages received, decoded as UTF-8, in order. */
  readonly messages: string[];
  /** True while the port is bound. */
  readonly listening: boolean;
  /** Simulate an outage: stop listening and destroy every socket (clients see close 1006). */
  stop(): Promise<void>;
  /** Listen again on the same port. No-op if listening. */
  start(): Promise<void>;
  /** Close every client with a close frame (default 1001, "going away"), keep listening. */
  closeClients(code?: number): void;
}

export interface WsServerOptions {
  /** Send every message back to its sender. Default true. */
  echo?: boolean;
}

export interface StatusServerOptions {
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Response body. Default: the status text. */
  body?: string;
}

/** A real `ws` WebSocketServer on a free port. */
export async function startWsServer(opts: WsServerOptions = {}): Promise<WsServerPeer> {
  const echo = opts.echo ?? true;
  const port = await freePort();
  const messages: string[] = [];
  const sockets = new Set<Duplex>();
  let accepted = 0;
  let closed = false;

  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => {
    // A client dropping mid-frame must not crash the test process.
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      messages.push(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'));
      if (echo) ws.send(data, { binary: isBinary });
    });
  });

  const server = createHttpServer((_req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' }).end(STATUS_CODES[426]);
  });
  track(server, sockets, () => accepted++);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const stop = async (): Promise<void> => {
    if (!server.listening) return;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of sockets) s.destroy();
    await done;
  };

  const start = async (): Promise<void> => {
    if (closed) throw new Error('ws server peer was closed');
    if (server.listening) return;
    await listen(server, port);
  };

  await start();

  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    get accepted() {
      return accepted;
    },
    wss,
    get clients() {
      return wss.clients;
    },
    messages,
    get listening() {
      return server.listening;
    },
    stop,
    start,
    closeClients(code = 1001) {
      for (const ws of wss.clients) ws.close(code);
    },
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

/** Accepts each TCP connection and immediately resets it (RST): the client sees ECONNRESET. */
export async function startResettingServer(): Promise<CountingPeer> {
  return servePeer(createNetServer((socket) => socket.resetAndDestroy()));
}

/** Accepts each TCP connection and never sends a byte, until the client gives up. */
export async function startSilentServer(): Promise<CountingPeer> {
  return servePeer(
    createNetServer((socket) => {
      // The client's handshake timeout destroys its end; ours may then see ECONNRESET.
      socket.on('error', () => undefined);
    }),
  );
}

/**
 * An HTTP server answering every request, upgrade or not, with `status` (e.g. 502 from a
 * proxy whose backend is down, 401 from an auth gateway) and closing the connection.
 */
export async function startStatusServer(status: number, opts: StatusServerOptions = {}): Promise<CountingPeer> {
  const reason = STATUS_CODES[status] ?? 'Unknown';
  const body = opts.body ?? reason;
  const headers: Record<string, string> = {
    'Content-Type': 'text/plain',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...opts.headers,
  };

  const server = createHttpServer((_req, res) => {
    res.writeHead(status, headers).end(body);
  });
  server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    const head = Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    socket.end(`HTTP/1.1 ${status} ${reason}\r\n${head}\r\n${body}`);
  });
  return servePeer(server);
}

/** A loopback port with nothing listening on it (connecting gets ECONNREFUSED). */
export function closedPort(): Promise<number> {
  return freePort();
}

/** Count and keep `server`'s connections, listen on a free loopback port, and hand it back as a peer. */
async function servePeer(server: HttpServer | NetServer): Promise<CountingPeer> {
  const port = await freePort();
  const sockets = new Set<Duplex>();
  let accepted = 0;
  track(server, sockets, () => accepted++);
  await listen(server, port);
  return {
    port,
    url: `ws://127.0.0.1:${port}/`,
    get accepted() {
      return accepted;
    },
    close: () => closeServer(server, sockets),
  };
}

function track(server: HttpServer | NetServer, sockets: Set<Duplex>, onAccept: () => void): void {
  server.on('connection', (socket: Socket) => {
    onAccept();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
}

function listen(server: HttpServer | NetServer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function closeServer(server: HttpServer | NetServer, sockets: Set<Duplex>): Promise<void> {
  if (!server.listening) return;
  const done = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const s of sockets) s.destroy();
  await done;
}

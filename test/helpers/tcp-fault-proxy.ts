/**
 * A TCP proxy on 127.0.0.1 in front of one target (Postgres, NATS, a WebSocket server) whose
 * behaviour a test switches at run time, to produce real network faults without touching
 * the target:
 *
 * | mode        | new connections                              | existing connections        |
 * |-------------|----------------------------------------------|-----------------------------|
 * | `pass`      | accepted and piped to the target             | flow again (un-stalled)     |
 * | `refuse`    | ECONNREFUSED: nothing listens on the port    | left as they are            |
 * | `blackhole` | accepted, never forwarded, never answered    | stalled in both directions  |
 * | `reset`     | accepted, then reset (RST)                   | reset (RST) at once         |
 *
 * - Switching back from `refuse` listens again on the same port, so clients configured with
 *   the proxy's address recover like they would after a server restart.
 * - A `blackhole` is a stall, not a drop: bytes wait in kernel buffers and are delivered if
 *   the proxy is switched back to `pass` (like a healed partition). Connections accepted
 *   while black-holed are connected to the target at that point.
 * - `resetAfterBytes(n)` / `closeAfterBytes(n)` cut connections mid-stream, e.g. "reset when
 *   the client sends its next query" is `resetAfterBytes(0)` once the client is connected.
 * - `accepted` counts every connection the proxy accepted, in every mode, so a test can prove
 *   a call never opened a socket (compare before/after).
 *
 * Always `await proxy.close()` (in `after`/`afterEach`): it stops listening and destroys every
 * connection, on both sides.
 *
 * @example
 *   const proxy = await startTcpFaultProxy({ targetPort: 5432 });
 *   const client = new pg.Client({ host: proxy.host, port: proxy.port, ... });
 *   await proxy.setMode('refuse');   // client.connect() now fails with ECONNREFUSED
 *   await proxy.close();
 */
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOOPBACK } from './free-port';

export type ProxyMode = 'pass' | 'refuse' | 'blackhole' | 'reset';

/** Which bytes count towards a `resetAfterBytes` / `closeAfterBytes` budget. */
export type ByteDirection =
  /** client → target (requests) */
  | 'upstream'
  /** target → client (responses) */
  | 'downstream'
  | 'both';

export interface TcpFaultProxyOptions {
  /** Default 127.0.0.1. */
  targetHost?: string;
  targetPort: number;
  /** Mode at start. Default 'pass'. */
  mode?: ProxyMode;
  /** Port to listen on; default: one the kernel picks. */
  port?: number;
}

export interface TcpFaultProxy {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** The proxy's port; stable across `refuse` and back. */
  readonly port: number;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly mode: ProxyMode;
  /** Connections accepted since start, in every mode (reset and black-holed ones too). */
  readonly accepted: number;
  /** Connections the proxy opened to the target since start. */
  readonly upstreamConnects: number;
  /** Client connections currently open. */
  readonly activeConnections: number;
  /**
   * Switches mode; resolves once new connections get the new behaviour (for 'refuse', the
   * port no longer listens; leaving 'refuse', it listens again). Also disarms any
   * `resetAfterBytes` / `closeAfterBytes`.
   */
  setMode(mode: ProxyMode): Promise<void>;
  /**
   * Arms a fault: each connection (open ones counted from now, new ones from accept)
   * forwards at most `n` more bytes in `direction` (default 'upstream'), then both of its
   * sides are reset (RST) instead of forwarding the next byte. Stays armed for new
   * connections until `disarm()` or `setMode()`. The RST may overtake the last forwarded bytes,
   * and a client that still has unread bytes when the RST lands may see a plain end of stream
   * instead of ECONNRESET (pg: "Connection terminated unexpectedly").
   */
  resetAfterBytes(n: number, direction?: ByteDirection): void;
  /** As `resetAfterBytes`, but ends both sides cleanly (FIN) after the `n` bytes. */
  closeAfterBytes(n: number, direction?: ByteDirection): void;
  disarm(): void;
  /** Resets (RST) every open connection now, on both sides; the mode is unchanged. */
  resetAll(): void;
  /** Ends (FIN) every open connection now, on both sides; the mode is unchanged. */
  closeAll(): void;
  /** Stops listening and destroys every connection. Idempotent. */
  close(): Promise<void>;
}

type FaultAction = 'reset' | 'close';

interface Fault {
  action: FaultAction;
  bytes: number;
  direction: ByteDirection;
}

/** One accepted client connection and, once connected, its socket to the target. */
interface Link {
  client: net.Socket;
  upstream: net.Socket | null;
  upstreamConnected: boolean;
  stalled: boolean;
  /** Sockets paused because the other side's write buffer is full. */
  waitingDrain: Set<net.Socket>;
  /** Bytes left before the armed fault fires, or null when none is armed. */
  budget: number | null;
  fault: Fault | null;
  done: boolean;
}

const RELISTEN_ATTEMPTS = 20;
const RELISTEN_DELAY_MS = 50;

export async function startTcpFaultProxy(options: TcpFaultProxyOptions): Promise<TcpFaultProxy> {
  const proxy = new FaultProxy(options);
  await proxy.init();
  return proxy;
}

class FaultProxy implements TcpFaultProxy {
  readonly host = LOOPBACK;
  readonly targetHost: string;
  readonly targetPort: number;
  port: number;
  mode: ProxyMode;
  accepted = 0;
  upstreamConnects = 0;

  private server: net.Server | null = null;
  /** Servers closed by 'refuse' keep their accepted sockets; close() waits for all of them. */
  private readonly serverClosed: Promise<void>[] = [];
  /** Open client connections (what `activeConnections` counts). */
  private readonly links = new Set<Link>();
  /** Every socket not yet closed, both sides, so close() leaves nothing behind. */
  private readonly sockets = new Set<net.Socket>();
  private fault: Fault | null = null;
  private closed = false;

  constructor(options: TcpFaultProxyOptions) {
    this.targetHost = options.targetHost ?? LOOPBACK;
    this.targetPort = options.targetPort;
    this.mode = options.mode ?? 'pass';
    this.port = options.port ?? 0;
  }

  get activeConnections(): number {
    return this.links.size;
  }

  async init(): Promise<void> {
    if (this.mode !== 'refuse') {
      await this.listen(1);
    } else if (this.port === 0) {
      // The port must be known (and stay ours) even when starting refused: bind, then close.
      await this.listen(1);
      this.unlisten();
    }
  }

  async setMode(mode: ProxyMode): Promise<void> {
    this.assertOpen();
    this.fault = null;
    for (const link of this.links) link.fault = null;
    const previous = this.mode;
    this.mode = mode;
    if (mode === 'refuse') {
      this.unlisten();
      return;
    }
    switch (mode) {
      case 'pass':
        for (const link of [...this.links]) this.unstall(link);
        break;
      case 'blackhole':
        for (const link of this.links) this.stall(link);
        break;
      case 'reset':
        this.resetAll();
        break;
    }
    if (previous === 'refuse' || this.server === null) await this.listen(RELISTEN_ATTEMPTS);
  }

  resetAfterBytes(n: number, direction: ByteDirection = 'upstream'): void {
    this.arm({ action: 'reset', bytes: n, direction });
  }

  closeAfterBytes(n: number, direction: ByteDirection = 'upstream'): void {
    this.arm({ action: 'close', bytes: n, direction });
  }

  disarm(): void {
    this.fault = null;
    for (const link of this.links) {
      link.fault = null;
      link.budget = null;
    }
  }

  resetAll(): void {
    for (const link of [...this.links]) this.finish(link, 'reset');
  }

  closeAll(): void {
    for (const link of [...this.links]) this.finish(link, 'close');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fault = null;
    this.unlisten();
    for (const link of this.links) link.done = true;
    this.links.clear();
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.serverClosed);
  }

  private arm(fault: Fault): void {
    this.assertOpen();
    if (!Number.isInteger(fault.bytes) || fault.bytes < 0) {
      throw new RangeError(`byte count must be a non-negative integer, got ${fault.bytes}`);
    }
    this.fault = fault;
    for (const link of this.links) {
      link.fault = fault;
      link.budget = fault.bytes;
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('tcp-fault-proxy: already closed');
  }

  private async listen(attempts: number): Promise<void> {
    // Re-listening races anything else on the machine that binds ephemeral ports; the port
    // was ours a moment ago, so a short retry nearly always wins it back.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.listenOnce();
        return;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EADDRINUSE' || attempt >= attempts) {
          throw new Error(`tcp-fault-proxy: cannot listen on ${this.host}:${this.port}: ${(err as Error).message}`);
        }
        await sleep(RELISTEN_DELAY_MS);
      }
    }
  }

  private listenOnce(): Promise<void> {
    // pauseOnConnect: nothing is read from a client until we decide what to do with it, so a
    // black-holed connection keeps its bytes in the kernel for a later 'pass'.
    const server = net.createServer({ pauseOnConnect: true }, (socket) => this.onConnection(socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.host, port: this.port, exclusive: true }, () => {
        server.removeListener('error', reject);
        // A listening server has no other error source; keep one so nothing can crash the run.
        server.on('error', () => undefined);
        const address = server.address() as net.AddressInfo;
        this.port = address.port;
        this.server = server;
        this.serverClosed.push(new Promise((r) => server.once('close', () => r())));
        resolve();
      });
    });
  }

  private unlisten(): void {
    // close() releases the listening socket synchronously; only the 'close' event waits for
    // the connections it accepted, so connects are refused from this point on.
    const server = this.server;
    this.server = null;
    server?.close();
  }

  private onConnection(client: net.Socket): void {
    this.accepted++;
    this.track(client);
    if (this.closed || this.mode === 'reset' || this.mode === 'refuse') {
      // 'refuse' can only see a connection that was queued before the listener closed.
      client.resetAndDestroy();
      return;
    }
    const link: Link = {
      client,
      upstream: null,
      upstreamConnected: false,
      stalled: this.mode === 'blackhole',
      waitingDrain: new Set(),
      budget: this.fault ? this.fault.bytes : null,
      fault: this.fault,
      done: false,
    };
    this.links.add(link);
    client.on('end', () => link.upstream?.end());
    client.on('close', (hadError) => {
      this.links.delete(link);
      this.onSideClosed(link, link.upstream, hadError);
    });
    client.on('data', (chunk: Buffer) => this.forward(link, client, chunk));
    if (!link.stalled) this.connectUpstream(link);
  }

  private connectUpstream(link: Link): void {
    this.upstreamConnects++;
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    link.upstream = upstream;
    this.track(upstream);
    upstream.on('connect', () => {
      link.upstreamConnected = true;
      this.resumeIfFree(link, link.client);
      this.resumeIfFree(link, upstream);
    });
    // A target that refuses or drops the connection shows up to the client as a reset.
    upstream.on('close', (hadError) => this.onSideClosed(link, link.client, hadError));
    upstream.on('end', () => link.client.end());
    upstream.on('data', (chunk: Buffer) => this.forward(link, upstream, chunk));
    if (link.stalled) upstream.pause();
  }

  /** Moves one chunk across, honouring stalls, back-pressure and an armed fault. */
  private forward(link: Link, from: net.Socket, chunk: Buffer): void {
    if (link.done) return;
    const to = from === link.client ? link.upstream : link.client;
    if (to === null) return;
    let data = chunk;
    let fire = false;
    if (link.fault && link.budget !== null && counts(link.fault.direction, from === link.client)) {
      if (data.length > link.budget) {
        data = data.subarray(0, link.budget);
        fire = true;
      }
      link.budget -= data.length;
    }
    if (data.length > 0 && !to.write(data) && !fire) {
      from.pause();
      link.waitingDrain.add(from);
      to.once('drain', () => {
        link.waitingDrain.delete(from);
        this.resumeIfFree(link, from);
      });
    }
    if (fire && link.fault) this.finish(link, link.fault.action);
  }

  private stall(link: Link): void {
    link.stalled = true;
    link.client.pause();
    link.upstream?.pause();
  }

  private unstall(link: Link): void {
    link.stalled = false;
    if (link.upstream === null) {
      this.connectUpstream(link);
      return;
    }
    this.resumeIfFree(link, link.client);
    this.resumeIfFree(link, link.upstream);
  }

  private resumeIfFree(link: Link, socket: net.Socket): void {
    if (link.done || link.stalled || !link.upstreamConnected || link.waitingDrain.has(socket)) return;
    socket.resume();
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    // Resets are the point of this proxy; an unhandled 'error' would crash the test run.
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** One side closed: an abortive close goes on to the other side as RST, a clean one as FIN. */
  private onSideClosed(link: Link, other: net.Socket | null, hadError: boolean): void {
    if (hadError) this.finish(link, 'reset');
    else if (other !== null && !other.destroyed) other.end();
    link.done = true;
  }

  private finish(link: Link, how: 'reset' | 'close'): void {
    link.done = true;
    this.links.delete(link);
    for (const socket of [link.client, link.upstream]) {
      if (socket === null || socket.destroyed) continue;
      if (how === 'reset') socket.resetAndDestroy();
      else socket.end();
    }
  }
}

function counts(direction: ByteDirection, upstream: boolean): boolean {
  return direction === 'both' || (direction === 'upstream') === upstream;
}

/**
 * Pure helpers for the ws patcher: recognising ws's handshake request, naming per-target
 * breakers, and the duration recorded for a send that met backpressure. No ws, no I/O.
 */

/** The parts of ws's own request options (`initAsClient`'s fresh `opts`) the patcher reads or replaces. */
export interface WsHandshakeOptions {
  headers: Record<string, unknown>;
  host?: unknown;
  port?: unknown;
  socketPath?: unknown;
  agent?: unknown;
  createConnection?: unknown;
  finishRequest?: unknown;
}

/**
 * True when `opts` is the options object ws 7/8 passes to `http.request`/`http.get` for an
 * opening handshake. Besides the upgrade headers, keys only ws puts there keep another
 * library's upgrade request (or an app's own) out of the websocket breaker. Never throws.
 */
export function isWsHandshakeOptions(opts: unknown): opts is WsHandshakeOptions {
  if (typeof opts !== 'object' || opts === null) return false;
  try {
    const o = opts as Record<string, unknown>;
    const headers = o.headers as Record<string, unknown> | undefined;
    return (
      typeof headers === 'object' &&
      headers !== null &&
      headers.Upgrade === 'websocket' &&
      headers['Sec-WebSocket-Key'] !== undefined &&
      typeof o.createConnection === 'function' &&
      'protocolVersion' in o &&
      'maxPayload' in o
    );
  } catch {
    return false;
  }
}

/**
 * `ws://host:port` for a handshake's options: scheme, host and port only, never the path
 * or query (they would make metric labels unbounded and may hold tokens). The port is
 * always written, so `ws://h` and `ws://h:80` share a breaker.
 */
export function handshakeOrigin(opts: WsHandshakeOptions, secure: boolean): string {
  const scheme = secure ? 'wss:' : 'ws:';
  if (typeof opts.socketPath === 'string' && opts.socketPath !== '') return `ws+unix:${opts.socketPath}`;
  const host = typeof opts.host === 'string' ? opts.host : 'localhost';
  const port = opts.port === undefined || opts.port === null || opts.port === '' ? (secure ? 443 : 80) : String(opts.port);
  return formatOrigin(scheme, host, port);
}

/**
 * The origin of a client's URL as ws records it (`websocket.url`, after any redirect), in
 * the same form as {@link handshakeOrigin}; null when it cannot be parsed.
 */
export function originFromUrl(href: unknown): string | null {
  if (typeof href !== 'string' || href === '') return null;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return null;
  }
  if (url.protocol === 'ws+unix:') {
    const path = url.pathname;
    const colon = path.indexOf(':');
    return `ws+unix:${colon === -1 ? path : path.slice(0, colon)}`;
  }
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return formatOrigin(secure ? 'wss:' : 'ws:', host, url.port === '' ? (secure ? 443 : 80) : url.port);
}

function formatOrigin(scheme: string, host: string, port: string | number): string {
  const h = host.includes(':') ? `[${host}]` : host.toLowerCase();
  return `${scheme}//${h}:${port}`;
}

/** Target of a server-side socket: the port its server listens on (`server:8080`). */
export function serverTarget(localPort: unknown): string {
  return typeof localPort === 'number' && localPort > 0 ? `server:${localPort}` : 'server';
}

/**
 * How long a send that found `bufferedAmount` over the limit is recorded as taking. The
 * breaker judges slowness by duration only, so such a send is recorded as lasting at least
 * `slowCallMs`; the real write time is kept when it is longer. Without `slowCallMs` the
 * breaker has no notion of a slow call, and the measured time is recorded unchanged rather
 * than a made-up latency.
 */
export function backpressuredDuration(measuredMs: number, slowCallMs: number): number {
  return slowCallMs > 0 && measuredMs < slowCallMs ? slowCallMs : measuredMs;
}

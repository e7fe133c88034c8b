/**
 * Per-target keys for nats: the `host:port` of a server, spelled the way the client itself
 * spells it (`ServerImpl.listen`), because the key of a connection's status events and of its
 * calls comes from the client (`status.data`, `protocol.server.listen`) while the key of a
 * `connect()` call has to be computed from the options. Both must land on the same child.
 */

/** The client's default server (`DEFAULT_HOST:DEFAULT_PORT` in nats 2.x). */
export const DEFAULT_NATS_PORT = '4222';
export const DEFAULT_NATS_SERVER = `127.0.0.1:${DEFAULT_NATS_PORT}`;

const SCHEME = /^[^/]*:\/\//;

/**
 * `host:port` for a server URL or address as written in `servers:` (`nats://h:4222`, `h`,
 * `[::1]:4222`, `::1`, `tls://user:pw@h`): scheme and credentials dropped, host lower-cased,
 * port 4222 when absent, IPv6 in brackets. Unparsable input comes back trimmed, so a bad
 * address still gets a key of its own (the client will reject it anyway).
 */
export function serverTarget(server: string): string {
  let s = server.trim().replace(SCHEME, '');
  // A bare IPv6 literal has several colons and no brackets; the client brackets it too.
  if (!s.startsWith('[') && !s.includes('@') && s.indexOf(':') !== s.lastIndexOf(':')) s = `[${s}]`;
  try {
    // A scheme with no default port, so an explicit :80 or :443 is kept as written.
    const url = new URL(`nats://${s}`);
    if (url.hostname === '') return s;
    return `${url.hostname.toLowerCase()}:${url.port || DEFAULT_NATS_PORT}`;
  } catch {
    return s;
  }
}

/**
 * The server a `connect(opts)` call will try first: the first of `servers`, else
 * `127.0.0.1:<port>`, else the client's default. With several servers the connection may end
 * on another one; its later calls and status events are then keyed by that server.
 */
export function connectTarget(opts: unknown): string {
  if (opts === null || typeof opts !== 'object') return DEFAULT_NATS_SERVER;
  const { servers, port } = opts as { servers?: unknown; port?: unknown };
  const first = Array.isArray(servers) ? servers[0] : servers;
  if (typeof first === 'string' && first.trim() !== '') return serverTarget(first);
  if (typeof port === 'number' || (typeof port === 'string' && port !== '')) return `127.0.0.1:${String(port)}`;
  return DEFAULT_NATS_SERVER;
}

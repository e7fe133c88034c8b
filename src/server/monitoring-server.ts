import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { handle, type RouteContext } from './routes';

export interface MonitoringServerOptions extends RouteContext {
  host: string;
  port: number;
}

export interface MonitoringServer {
  readonly server: Server;
  /** Resolves with the bound port, or rejects with the listen error (e.g. EADDRINUSE). */
  listen(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Scrapes and probes are small and fast: a client that has not sent its headers or its
 * request within these bounds is a slowloris or a broken proxy, and a scraper's keep-alive
 * connection is not worth holding longer than one scrape interval apart.
 */
export const SERVER_TIMEOUTS = {
  headersTimeout: 10_000,
  requestTimeout: 15_000,
  keepAliveTimeout: 5_000,
  /** How often Node checks the two timeouts above (its default is 30 s). */
  connectionsCheckingInterval: 2_000,
} as const;

/**
 * The one HTTP port for /metrics, health and admin routes. It must never be the reason an
 * app that finished its work keeps running: the listening socket and every accepted
 * connection are unref'd, so open scrapers or idle clients do not hold the event loop.
 */
export function createMonitoringServer(options: MonitoringServerOptions): MonitoringServer {
  const server = createServer({ connectionsCheckingInterval: SERVER_TIMEOUTS.connectionsCheckingInterval }, (req, res) => {
    try {
      handle(options, req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal error"}\n');
    }
  });
  server.headersTimeout = SERVER_TIMEOUTS.headersTimeout;
  server.requestTimeout = SERVER_TIMEOUTS.requestTimeout;
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveTimeout;
  server.on('connection', (socket: Socket) => socket.unref());
  server.unref();
  return {
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        // exclusive: a cluster worker serving itself binds its own port instead of sharing the
        // primary's, so two instances on one port fail loudly (EADDRINUSE) rather than answer at random.
        server.listen({ port: options.port, host: options.host, exclusive: true }, () => {
          server.off('error', onError);
          const addr = server.address();
          resolve(typeof addr === 'object' && addr ? addr.port : options.port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

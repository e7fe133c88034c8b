import { createServer, type Server } from 'node:http';
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
 * The one HTTP port for /metrics, health and admin routes. The server is unref'd: it must
 * never be the reason an app that finished its work keeps running.
 */
export function createMonitoringServer(options: MonitoringServerOptions): MonitoringServer {
  const server = createServer((req, res) => {
    try {
      handle(options, req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error":"internal error"}\n');
    }
  });
  server.unref();
  return {
    server,
    listen: () =>
      new Promise((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        server.once('error', onError);
        server.listen(options.port, options.host, () => {
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

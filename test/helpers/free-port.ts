/**
 * `freePort()`: a TCP port on 127.0.0.1 that nothing listens on right now.
 *
 * The kernel picks it (listen on port 0), so it comes from the ephemeral range and is not
 * reserved: another process, or an outgoing connection's local port, can take it before the
 * caller binds it. Callers that can retry on EADDRINUSE should (startPrivatePostgres does).
 * It is also the way to get a port that refuses connections: nothing listens on it.
 */
import * as net from 'node:net';

export const LOOPBACK = '127.0.0.1';

export function freePort(host: string = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error(`freePort: unexpected server address ${String(address)}`));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

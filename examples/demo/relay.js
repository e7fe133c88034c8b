'use strict';
/**
 * A TCP relay on 127.0.0.1 in front of one dependency (Postgres, NATS). The demo talks to
 * its dependencies through relays so that the chaos switch can take one away the way a real
 * outage does: `cut()` closes the listening socket, so every new connection is refused by
 * the kernel (ECONNREFUSED), and destroys the open connections mid-stream. pg and nats see
 * what they would see if the server crashed; nothing in the app fakes an error.
 * `restore()` listens again on the same port, like a server coming back.
 */
const net = require('node:net');
const { setTimeout: sleep } = require('node:timers/promises');

const HOST = '127.0.0.1';
const RELISTEN_ATTEMPTS = 20;

class Relay {
  /** `upstream`: `{ host, port }`, or `{ path }` for a unix socket. */
  constructor(name, upstream) {
    this.name = name;
    this.upstream = upstream;
    this.port = 0;
    this.server = null;
    this.sockets = new Set();
  }

  get host() {
    return HOST;
  }

  get isCut() {
    return this.server === null;
  }

  /** Listens on a port the kernel picks; later restores reuse it, so clients keep their address. */
  async start() {
    await this.listen(0);
    return this;
  }

  cut() {
    if (this.server === null) return;
    this.server.close();
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async restore() {
    if (this.server !== null) return;
    // Another process may have taken the port while nothing listened on it; keep trying
    // for a while, as a restarting server would.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.listen(this.port);
        return;
      } catch (err) {
        if (err.code !== 'EADDRINUSE' || attempt >= RELISTEN_ATTEMPTS) throw err;
        await sleep(500);
      }
    }
  }

  close() {
    this.cut();
  }

  listen(port) {
    const server = net.createServer((client) => this.relay(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: HOST, port, exclusive: true }, () => {
        server.off('error', reject);
        // A listening socket can still fail (EMFILE on accept); the relay then stops
        // accepting, which the app sees as an outage rather than a crash.
        server.on('error', () => this.cut());
        this.port = server.address().port;
        this.server = server;
        resolve();
      });
    });
  }

  relay(client) {
    const upstream = net.connect(this.upstream);
    const pair = [client, upstream];
    for (const socket of pair) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      // Either side failing ends both, as a broken path between client and server would.
      // A clean end is passed on by pipe() (FIN after the last byte), not cut short.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => this.sockets.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}

/** Starts a relay and resolves with it once it listens. */
function startRelay(name, upstream) {
  return new Relay(name, upstream).start();
}

module.exports = { startRelay };

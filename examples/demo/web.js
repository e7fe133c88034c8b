'use strict';
/**
 * One port for players and operators: WebSocket upgrades go to the game, and plain HTTP
 * serves a short help text and the chaos switch:
 *
 *   GET    /                        what this is
 *   GET    /chaos                   outages in progress, seconds left
 *   POST   /chaos/{kind}?seconds=30 kind: postgres, slow-database, nats, disk, websocket
 *   DELETE /chaos/{kind}            ends it before its time is up
 *
 * While WebSocket chaos is on, upgrades are answered "503 Service Unavailable", which is
 * what a client sees when the server behind a load balancer is down. The chaos switch has
 * no authentication: it is a demo, not something to expose beyond a test machine.
 */
const http = require('node:http');
const { WebSocketServer } = require('ws');
const { ChaosError } = require('./chaos');

const HELP = `breakerbox demo: a small multi-user game server (MythosMUD) guarded by breakerbox.

Players connect with WebSockets to this port: {"type":"login","name":"...","password":"..."},
then {"type":"move","direction":"north"}, {"type":"say","text":"..."}, {"type":"look"}.

Make a dependency fail for a while, as the app sees it:
  curl -X POST 'http://HOST/chaos/postgres?seconds=30'     (also nats, disk, websocket)
  curl -X POST 'http://HOST/chaos/slow-database?seconds=60' (Postgres slow, not down: a held lock)
  curl http://HOST/chaos                                    (what is failing now)
  curl -X DELETE http://HOST/chaos/slow-database            (end one early)
`;

function createWebServer({ game, chaos, upgrades, log }) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 });
  const server = http.createServer((req, res) => {
    route(req, res).catch((err) => reply(res, err instanceof ChaosError ? err.status : 500, { error: err.message }));
  });

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (upgrades.refused) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => game.attach(ws));
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  async function route(req, res) {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts.length === 0) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, { error: 'GET /' });
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(HELP.replaceAll('HOST', req.headers.host ?? 'localhost:8080'));
      return undefined;
    }
    if (parts[0] !== 'chaos' || parts.length > 2) return reply(res, 404, { error: 'not found: try GET / or /chaos' });
    if (parts.length === 1) {
      if (req.method !== 'GET') return reply(res, 405, { error: 'GET /chaos' });
      return reply(res, 200, chaos.status());
    }
    if (req.method === 'DELETE') {
      const stopped = await chaos.stop(parts[1]);
      if (stopped.stopped) log(`chaos: ${stopped.kind} ended early (requested over HTTP)`);
      return reply(res, 200, stopped);
    }
    if (req.method !== 'POST') return reply(res, 405, { error: `POST or DELETE /chaos/${parts[1]}` });
    const seconds = url.searchParams.has('seconds') ? Number(url.searchParams.get('seconds')) : undefined;
    const outage = await chaos.start(parts[1], seconds);
    log(`chaos: ${outage.kind} failing for ${outage.seconds}s (requested over HTTP)`);
    return reply(res, 202, outage);
  }

  function listen(port, host) {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve(server.address().port);
      });
    });
  }

  function close() {
    wss.close();
    server.closeAllConnections?.();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  return { listen, close };
}

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

module.exports = { createWebServer };

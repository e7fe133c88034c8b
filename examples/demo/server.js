'use strict';
/**
 * breakerbox demo: a small multi-user game server (MythosMUD) with every dependency behind
 * a breaker, its own synthetic players, and a chaos switch.
 *
 *   npm start        (= node --require ./dist/register.js examples/demo/server.js)
 *
 * Players and their positions live in Postgres, chat goes through NATS, players connect
 * with WebSockets, rooms are JSON files under ./data/rooms, passwords are hashed with
 * scrypt. Postgres or NATS may be missing: their breakers open, and fallbacks serve (a
 * player cache, chat delivered locally). Environment: PG* (default 127.0.0.1:5432, db
 * test, user postgres), NATS_URL (nats://127.0.0.1:4222), DEMO_HTTP_PORT (8080),
 * DEMO_BOTS (4 synthetic players), DEMO_DATA_DIR (./data).
 */
const { setTimeout: sleep } = require('node:timers/promises');
const breakerbox = require('breakerbox');

// Under `--require breakerbox/register` this returns what the preload started. Run as plain
// `node server.js`, it starts breakerbox here, before pg, nats and ws are first required.
const started = breakerbox.startBreakerbox();

const { createLog, describe } = require('./log');
const { readSettings, SettingsError } = require('./settings');
const { startRelay } = require('./relay');
const { createPlayerStore } = require('./players');
const { createRoomStore } = require('./rooms');
const { createChat, natsUpstream } = require('./chat');
const { createGame } = require('./game');
const { createChaos } = require('./chaos');
const { chaosInjectors } = require('./chaos-injectors');
const { createWebServer } = require('./web');
const { startBots } = require('./bots');
const { startStatusView } = require('./status-view');

const SHUTDOWN_GRACE_MS = 5_000;
const log = createLog();

async function main() {
  const settings = readSettings();
  const pg = settings.postgres;
  const pgRelay = await startRelay('postgres', pg.host.startsWith('/') ? { path: `${pg.host}/.s.PGSQL.${pg.port}` } : { host: pg.host, port: pg.port });
  const natsRelay = await startRelay('nats', natsUpstream(settings.natsUrl));

  let game = null;
  const players = createPlayerStore({ postgres: pg, relay: pgRelay, log });
  const rooms = createRoomStore({ dataDir: settings.dataDir, shippedRoomsDir: settings.shippedRoomsDir, log });
  const chat = createChat({ natsUrl: settings.natsUrl, relay: natsRelay, deliver: (line) => game?.deliverChat(line), log });
  game = createGame({ players, rooms, chat, log });

  const upgrades = { refused: false };
  const chaos = createChaos(chaosInjectors({ pgRelay, natsRelay, rooms, upgrades, game, postgres: pg, log }), { log });

  await rooms.seed().catch((err) => log(`rooms: could not seed ${settings.dataDir}/rooms (${describe(err)})`));
  chat.start();
  const web = createWebServer({ game, chaos, upgrades, log });
  const port = await web.listen(settings.httpPort, settings.httpHost);
  const base = `http://localhost:${port}`;
  const bots = startBots({ count: settings.bots, url: `ws://127.0.0.1:${port}/play` });

  const metricsPort = await started.monitoringPort;
  const metrics = metricsPort === null ? '(monitoring off)' : `http://localhost:${metricsPort}/metrics`;
  log(`game server listening on ${base} (WebSocket ws://localhost:${port}/play), ${settings.bots} bot(s) playing`);
  log(`metrics: ${metrics}   health: ${metricsPort === null ? '-' : `http://localhost:${metricsPort}/health/circuit-breakers`}`);
  log(`chaos: curl -X POST '${base}/chaos/postgres?seconds=30' (or slow-database, nats, disk, websocket; DELETE ends it early); kill -USR2 ${process.pid} cycles through them`);
  const view = startStatusView({
    header: () => {
      const outages = Object.entries(chaos.status()).map(([k, s]) => `${k} ${s}s`).join(', ');
      return `breakerbox demo  ${new Date().toISOString().slice(11, 19)}  ${metrics}  chaos: ${outages || 'none'}`;
    },
  });

  const onUsr2 = () => {
    chaos.cycle().then(
      (outage) => log(`chaos: ${outage.kind} failing for ${outage.seconds}s (SIGUSR2)`),
      (err) => log(`chaos: ${err.message}`),
    );
  };
  process.on('SIGUSR2', onUsr2);

  let stopping = false;
  const shutdown = async (signal) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log(`${signal}: shutting down`);
    // Whatever still holds the event loop after the grace period is not worth waiting for.
    setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS).unref();
    view.stop();
    bots.stop();
    process.off('SIGUSR2', onUsr2);
    await chaos.stopAll();
    // Players get a proper close frame; whoever has not answered it shortly is cut off,
    // since the HTTP server cannot finish closing while upgraded sockets are open.
    game.closeAll();
    await sleep(300);
    game.dropAll();
    await Promise.allSettled([web.close(), chat.stop(), players.close()]);
    pgRelay.close();
    natsRelay.close();
    log('stopped');
  };
  const onSignal = (signal) => {
    shutdown(signal).catch((err) => {
      log(`shutdown failed: ${describe(err)}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch((err) => {
  if (err instanceof SettingsError) {
    process.stderr.write(`demo: ${err.message}\n`);
    process.exit(78);
  }
  process.stderr.write(`demo: cannot start: ${err.stack ?? err}\n`);
  process.exit(1);
});

'use strict';
/**
 * What each chaos kind breaks, and how it is put right (the switch itself is chaos.js).
 * Every one makes the real library fail for real: the relays stop listening, the room
 * reads hit a file the kernel cannot read, the WebSocket upgrades are refused, and for a
 * slow database another client holds a lock on the players table in Postgres.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const { once } = require('node:events');

const LOCK_HOLDER = path.join(__dirname, 'lock-holder.js');
const LOCK_HOLDER_READY_MS = 15_000;
const LOCK_HOLDER_STOP_MS = 5_000;

function chaosInjectors({ pgRelay, natsRelay, rooms, upgrades, game, postgres, log }) {
  return {
    postgres: relayInjector(pgRelay),
    'slow-database': lockHolderInjector(postgres, log),
    nats: relayInjector(natsRelay),
    disk: {
      available: rooms.canBreakDisk,
      unavailableReason: 'it needs /proc/self/mem (Linux)',
      begin: () => rooms.breakDisk(),
      end: () => rooms.healDisk(),
    },
    websocket: {
      begin: async () => {
        upgrades.refused = true;
        // Connected players would not notice a refusing front door; drop them so every
        // client has to reconnect into the 503s, as after a server crash.
        game.dropAll();
      },
      end: async () => {
        upgrades.refused = false;
      },
    },
  };
}

function relayInjector(relay) {
  return {
    begin: async () => relay.cut(),
    end: () => relay.restore(),
  };
}

/**
 * Slow, not down: a child process (lock-holder.js) takes the players table's ACCESS
 * EXCLUSIVE lock in bursts, so the demo's queries queue in Postgres. `begin` resolves once it
 * held the lock; `end` closes its stdin, it ends its transaction and exits.
 */
function lockHolderInjector(postgres, log) {
  let child = null;
  return {
    begin: async () => {
      const env = {
        ...process.env,
        PGHOST: postgres.host,
        PGPORT: String(postgres.port),
        PGDATABASE: postgres.database,
        PGUSER: postgres.user,
      };
      if (postgres.password !== undefined) env.PGPASSWORD = postgres.password;
      // NODE_OPTIONS may preload breakerbox (docker-compose, npm start): the lock holder is
      // not the app and must not be guarded, nor open a second monitoring port.
      delete env.NODE_OPTIONS;
      const holder = spawn(process.execPath, [LOCK_HOLDER], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      holder.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      holder.stdin.on('error', () => undefined);
      const exited = once(holder, 'exit');
      const ready = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the lock holder did not get the lock within ${LOCK_HOLDER_READY_MS} ms`)), LOCK_HOLDER_READY_MS);
        holder.stdout.on('data', (chunk) => {
          if (String(chunk).includes('locked')) {
            clearTimeout(timer);
            resolve();
          }
        });
        exited.then(([code]) => {
          clearTimeout(timer);
          reject(new Error(`the lock holder could not lock the players table (exit ${code}): ${stderr.trim() || 'no output'}`));
        });
      });
      try {
        await ready;
      } catch (err) {
        holder.kill('SIGKILL');
        throw err;
      }
      child = holder;
      exited.then(([code]) => {
        if (child !== holder) return;
        child = null;
        log(`chaos: the slow-database lock holder stopped on its own (exit ${code}): ${stderr.trim() || 'no output'}`);
      });
    },
    end: async () => {
      const holder = child;
      child = null;
      if (holder === null || holder.exitCode !== null) return;
      const exited = once(holder, 'exit');
      holder.stdin.end();
      const timer = setTimeout(() => holder.kill('SIGKILL'), LOCK_HOLDER_STOP_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}

module.exports = { chaosInjectors };

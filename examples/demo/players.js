'use strict';
/**
 * Players in Postgres, through a pg Pool. breakerbox guards the pool (the `database`
 * breaker); this file adds what only the app can know: the breaker's fallback answers the
 * two player statements from an in-memory cache while Postgres is unreachable or too slow
 * for the calls (refused over the concurrency limit), and the saves made meanwhile are
 * written back when the breaker closes, or a few seconds after a refusal.
 */
const { Pool } = require('pg');
const { registry, withOperation } = require('breakerbox');
const { PlayerCache } = require('./player-cache');
const { describe } = require('./log');

const { CREATE_SQL } = require('./player-table');

const UNDEFINED_TABLE = '42P01';
const CONCURRENCY_LIMITED = 'ECONCURRENCYLIMIT';
const LIMITED_WRITE_BACK_DELAY_MS = 5_000;
const LOAD_SQL = 'SELECT name, room, salt, hash FROM demo_players WHERE name = $1';
// A player created while the database was down is provisional: if the name turns out to
// be taken when the save is written back, the password hashes differ and the stored
// account wins.
const SAVE_SQL = `INSERT INTO demo_players (name, room, salt, hash) VALUES ($1, $2, $3, $4)
ON CONFLICT (name) DO UPDATE SET room = EXCLUDED.room, updated_at = now()
WHERE demo_players.hash = EXCLUDED.hash`;

function createPlayerStore({ postgres, relay, log }) {
  const pool = new Pool({
    host: relay.host,
    port: relay.port,
    database: postgres.database,
    user: postgres.user,
    password: postgres.password,
    max: 5,
    connectionTimeoutMillis: 3_000,
    idleTimeoutMillis: 10_000,
  });
  // An idle connection that dies (server restart, chaos) is dropped by the pool; without a
  // listener that 'error' would end the process.
  pool.on('error', (err) => log.every('pg-idle', 10_000, `postgres: idle connection lost (${describe(err)})`));

  const cache = new PlayerCache();
  const database = registry.get('database');
  database.fallback(answerFromCache);
  database.on('stateChange', ({ to }) => {
    // Not from inside the breaker's own transition: the write-back makes calls through it.
    if (to === 'closed') setImmediate(writeBack);
  });

  /**
   * The `database` breaker's fallback: it gets the refused or failed call's arguments (pg's
   * `(text, values)` or `({ text, values })`) and the error. Only the player statements have
   * a cached answer; anything else fails as it would have.
   */
  function answerFromCache(...args) {
    const err = args[args.length - 1];
    const { text, values } = statementOf(args[0], args[1]);
    if (text === LOAD_SQL) {
      const player = cache.get(values[0]);
      return cachedResult(player ? [player] : []);
    }
    if (text === SAVE_SQL) {
      const [name, room, salt, hash] = values;
      cache.rememberUnsaved({ name, room, salt, hash });
      // Refused over the concurrency limit, the breaker stays closed: no closing transition
      // will start the write-back, so it is started a little later instead.
      if (err?.code === CONCURRENCY_LIMITED) scheduleWriteBack();
      return cachedResult([]);
    }
    throw err;
  }

  let writeBackTimer = null;
  function scheduleWriteBack() {
    if (writeBackTimer !== null) return;
    writeBackTimer = setTimeout(() => {
      writeBackTimer = null;
      void writeBack();
    }, LIMITED_WRITE_BACK_DELAY_MS);
    writeBackTimer.unref();
  }

  /**
   * Runs a player statement; the table is created the first time a statement finds it
   * missing (42P01, which breakerbox does not count as a database failure), so no extra
   * round trip is made per call, and none at all while the database is away.
   */
  let creating = null;
  async function run(operation, text, values) {
    const attempt = () => withOperation(operation, () => pool.query(text, values));
    try {
      return await attempt();
    } catch (err) {
      if (err.code !== UNDEFINED_TABLE) throw err;
      creating ??= pool.query(CREATE_SQL).finally(() => {
        creating = null;
      });
      await creating;
      return attempt();
    }
  }

  /** The player, or null if there is none; `fromCache` says the answer did not come from Postgres. */
  async function load(name) {
    const result = await run('load_player', LOAD_SQL, [name]);
    const player = result.rows[0] ?? null;
    if (player && !result.fromCache) cache.remember(player);
    return { player, fromCache: Boolean(result.fromCache) };
  }

  async function save(player) {
    const result = await run('save_player', SAVE_SQL, [player.name, player.room, player.salt, player.hash]);
    if (result.fromCache) return { fromCache: true };
    // No row written: the name belongs to another account (a provisional player made
    // during an outage lost); the stored account is what the next login must find.
    if (result.rowCount === 0) cache.forget(player.name);
    else cache.remember(player);
    return { fromCache: false };
  }

  let writingBack = false;
  async function writeBack() {
    if (writingBack) return;
    writingBack = true;
    try {
      const pending = cache.dirty();
      for (const player of pending) {
        const { fromCache } = await save(player);
        if (fromCache) return;
      }
      if (pending.length > 0) log(`postgres: wrote back ${pending.length} player save(s) made while it was unreachable or over its concurrency limit`);
    } catch (err) {
      log(`postgres: write-back stopped (${describe(err)}); the rest waits for the next recovery`);
    } finally {
      writingBack = false;
    }
  }

  async function close() {
    clearTimeout(writeBackTimer);
    database.fallback(null);
    await pool.end().catch(() => undefined);
  }

  return { load, save, close };
}

function statementOf(first, second) {
  if (typeof first === 'string') return { text: first, values: Array.isArray(second) ? second : [] };
  if (first !== null && typeof first === 'object' && typeof first.text === 'string') {
    return { text: first.text, values: Array.isArray(first.values) ? first.values : Array.isArray(second) ? second : [] };
  }
  return { text: null, values: [] };
}

/** Shaped like a pg Result, marked so the store knows Postgres did not answer. */
function cachedResult(rows) {
  return { command: 'SELECT', rowCount: rows.length, rows: rows.map((r) => ({ ...r })), fields: [], fromCache: true };
}

module.exports = { createPlayerStore };

'use strict';
/**
 * The demo's settings, from the environment docker-compose.yml sets. Without any of it the
 * demo talks to Postgres and NATS on this machine, on their usual ports.
 */
const path = require('node:path');

class SettingsError extends Error {}

function integer(env, name, fallback, min, max) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SettingsError(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
  }
  return n;
}

function readSettings(env = process.env) {
  return {
    httpHost: env.DEMO_HTTP_HOST || '0.0.0.0',
    httpPort: integer(env, 'DEMO_HTTP_PORT', 8080, 0, 65535),
    postgres: {
      // A host starting with "/" is a unix socket directory, as in libpq.
      host: env.PGHOST || '127.0.0.1',
      port: integer(env, 'PGPORT', 5432, 1, 65535),
      database: env.PGDATABASE || 'test',
      user: env.PGUSER || 'postgres',
      password: env.PGPASSWORD,
    },
    natsUrl: env.NATS_URL || 'nats://127.0.0.1:4222',
    bots: integer(env, 'DEMO_BOTS', 4, 0, 200),
    // Relative to the working directory, like the built-in file_system breaker's
    // `./data/**`: the rooms must be read under it to be guarded.
    dataDir: path.resolve(env.DEMO_DATA_DIR || 'data'),
    shippedRoomsDir: path.join(__dirname, 'data', 'rooms'),
  };
}

module.exports = { readSettings, SettingsError };

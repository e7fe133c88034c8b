'use strict';
/**
 * The demo's one table, shared by the player store and the "slow database" lock holder,
 * which must be able to lock it before the first player was ever saved.
 */
const PLAYER_TABLE = 'demo_players';
const CREATE_SQL = `CREATE TABLE IF NOT EXISTS ${PLAYER_TABLE} (
  name text PRIMARY KEY,
  room text NOT NULL,
  salt text NOT NULL,
  hash text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
)`;

module.exports = { PLAYER_TABLE, CREATE_SQL };

'use strict';
/**
 * The "slow database" chaos kind runs this as a child process: another client of the demo's
 * Postgres (a migration, a batch job, a forgotten psql session) that takes an ACCESS
 * EXCLUSIVE lock on the players table in bursts: held for HOLD_MS, let go for FREE_MS, again.
 * Every demo query on the table arriving during a burst queues in Postgres until the
 * burst's transaction ends, so the database is slow, not down: nothing fails, everything
 * waits. It runs in its own process, outside breakerbox, because it is not the app.
 *
 * It connects to Postgres directly (PG* from the environment), not through the demo's relay.
 * It prints "locked" once it held the lock the first time, and stops (ending its
 * transaction) when its stdin closes, which is also what happens when the demo dies.
 */
const { Client } = require('pg');
const { PLAYER_TABLE, CREATE_SQL } = require('./player-table');

const HOLD_MS = 500;
const FREE_MS = 100;

async function main() {
  let stopping = false;
  process.stdin.on('end', () => {
    stopping = true;
  });
  process.stdin.on('error', () => {
    stopping = true;
  });
  process.stdin.resume();

  const client = new Client({ application_name: 'breakerbox-demo-lock-holder' });
  client.on('error', () => undefined);
  await client.connect();
  await client.query(CREATE_SQL);
  // One round trip per burst: the lock is taken and held by Postgres itself (pg_sleep inside
  // the transaction), so a slow event loop here cannot shorten or stretch it.
  const burst = `BEGIN; LOCK TABLE ${PLAYER_TABLE} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(${HOLD_MS / 1000}); COMMIT`;
  let first = true;
  while (!stopping) {
    await client.query(burst);
    if (first) {
      process.stdout.write('locked\n');
      first = false;
    }
    await new Promise((resolve) => setTimeout(resolve, FREE_MS));
  }
  await client.end();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.code ? `${err.code}: ` : ''}${err.message}\n`);
    process.exit(1);
  },
);

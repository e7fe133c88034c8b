'use strict';
// The service of the overload benchmark (scripts/bench-overload.ts), run under
// `--require <dist>/register.js`: a pg.Pool sending CPU-costly queries
// (SELECT sum(g) FROM generate_series(1, QUERY_ROWS) g) to Postgres, in one of two modes:
// - open: a constant arrival rate, RATE calls/s for DURATION_MS; a call starts on its
//   schedule whether or not earlier ones have finished (users do not wait for each other),
//   and its latency counts from its scheduled time;
// - closed: for each concurrency in LEVELS, that many workers each sending one query after
//   another for LEVEL_MS (what the database serves at that concurrency).
// Prints JSON lines with epoch-ms times: {ev:'start'}, one {ev:'c'} per finished call
// (s: scheduled/started at, l: latency ms, lag: start behind schedule ms, o: 'ok' or the
// error's code), {ev:'s'} samples every SAMPLE_MS (w: pool.waitingCount, i: calls in flight,
// lim: the breaker's concurrency limit when it has one), {ev:'level'} per closed level,
// {ev:'done'}. Env: PG*, POOL_MAX, QUERY_ROWS, MODE, RATE, DURATION_MS, LEVELS, LEVEL_MS,
// SAMPLE_MS, BREAKERBOX_DIST.
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setInterval, clearInterval } = require('node:timers');
const pg = require('pg');

const env = (k, d) => (process.env[k] === undefined || process.env[k] === '' ? d : process.env[k]);
const POOL_MAX = Number(env('POOL_MAX', 10));
const ROWS = Number(env('QUERY_ROWS', 100000));
const MODE = env('MODE', 'open');
const SAMPLE_MS = Number(env('SAMPLE_MS', 20));
const DRAIN_MS = 3000;
const { registry } = require(path.join(env('BREAKERBOX_DIST', path.join(__dirname, '..', '..', 'dist')), 'index.js'));

const now = () => performance.timeOrigin + performance.now();
// Lines are written in batches: stdout to a pipe is synchronous, and a write per call would
// stall this event loop whenever the harness is slow to read, shifting the schedule.
let pending = [];
const flush = () => {
  if (pending.length) process.stdout.write(pending.join(''));
  pending = [];
};
const out = (o) => pending.push(JSON.stringify(o) + '\n');
const pool = new pg.Pool({ max: POOL_MAX });
pool.on('error', () => undefined);
const QUERY = { text: 'SELECT sum(g) FROM generate_series(1, $1::int) g', values: [ROWS] };
let inflight = 0;

/** The database breaker's current concurrency limit, or null when it has none. */
function currentLimit() {
  const lim = registry.get('database').concurrencyLimit;
  return typeof lim === 'number' ? lim : null;
}

function call(scheduled, lag, level) {
  inflight++;
  return pool.query(QUERY).then(
    () => done(scheduled, lag, level, 'ok'),
    (err) => done(scheduled, lag, level, (err && err.code) || (err && err.name) || 'error'),
  );
}

function done(scheduled, lag, level, outcome) {
  inflight--;
  const l = Math.round((now() - scheduled) * 1000) / 1000;
  out(level === undefined ? { ev: 'c', s: scheduled, l, lag, o: outcome } : { ev: 'c', s: scheduled, l, lag, o: outcome, lv: level });
}

function sample() {
  out({ ev: 's', t: now(), w: pool.waitingCount, i: inflight, lim: currentLimit() });
}

async function open() {
  const rate = Number(env('RATE', 100));
  const duration = Number(env('DURATION_MS', 10000));
  const every = 1000 / rate;
  const t0 = now();
  out({ ev: 'start', t: t0 });
  flush();
  let n = 0;
  await new Promise((resolve) => {
    const tick = () => {
      const t = now();
      // Every call whose time has come starts now, even when the loop was late: open loop.
      for (let due = t0 + n * every; due <= t && due < t0 + duration; due = t0 + n * every) {
        n++;
        void call(due, Math.round((t - due) * 1000) / 1000);
      }
      if (t0 + n * every >= t0 + duration) resolve();
      else setTimeout(tick, Math.max(0, t0 + n * every - now()));
    };
    tick();
  });
  out({ ev: 'scheduled', n, t: now() });
}

async function closed() {
  const levels = env('LEVELS', '1,2,4,8').split(',').map(Number);
  const levelMs = Number(env('LEVEL_MS', 2000));
  out({ ev: 'start', t: now() });
  flush();
  for (const level of levels) {
    const t0 = now();
    const until = t0 + levelMs;
    const worker = async () => {
      while (now() < until) await call(now(), 0, level);
    };
    await Promise.all(Array.from({ length: level }, worker));
    out({ ev: 'level', c: level, t0, t1: now() });
  }
}

async function main() {
  // Open every pooled connection first: connecting is not what this benchmark measures.
  for (let i = 0; i < 2; i++) await Promise.all(Array.from({ length: POOL_MAX }, () => pool.query(QUERY)));
  const sampler = setInterval(sample, SAMPLE_MS);
  const flusher = setInterval(flush, 250);
  if (MODE === 'closed') await closed();
  else await open();
  const drainUntil = now() + DRAIN_MS;
  while (inflight > 0 && now() < drainUntil) await new Promise((r) => setTimeout(r, 20));
  clearInterval(sampler);
  clearInterval(flusher);
  out({ ev: 'done', t: now(), unfinished: inflight });
  flush();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});

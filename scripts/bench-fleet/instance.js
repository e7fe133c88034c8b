'use strict';
// One instance of the fleet benchmark (scripts/bench-fleet.ts), run under
// --require dist/register.js. Makes a user call (a fresh pg.Client: connect, SELECT 1, end)
// every CALL_EVERY_MS, and prints one JSON line per call and per transition of the
// database breaker, with Date.now() so the harness can line them up; each call carries its
// start (t0, Date.now()) and duration (ms), and a line is printed whenever the fleet this instance sees changes (members,
// channel connected). Env: PG*, CALL_EVERY_MS.
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { setInterval } = require('node:timers');
const pg = require('pg');
const { registry } = require(path.join(__dirname, '..', '..', 'dist', 'index.js'));

const every = Number(process.env.CALL_EVERY_MS);
const out = (o) => process.stdout.write(JSON.stringify({ t: Date.now(), ...o }) + '\n');

registry.get('database').on('stateChange', (e) => out({ ev: 'transition', from: e.from, to: e.to, reason: e.reason }));

async function call() {
  const client = new pg.Client({ connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  const t0 = Date.now();
  const fleetThen = seenAt();
  const started = performance.now();
  const ms = () => Math.round((performance.now() - started) * 1000) / 1000;
  try {
    await client.connect();
    await client.query('SELECT 1');
    out({ ev: 'call', ok: true, t0, ms: ms() });
  } catch (err) {
    out({ ev: 'call', ok: false, code: err && err.code, t0, ms: ms(), ...(err && err.code === 'ECIRCUITOPEN' ? {} : fleetThen) });
  } finally {
    client.end().catch(() => undefined);
  }
}

async function loop() {
  // Instances started together must not call in step.
  await new Promise((r) => setTimeout(r, Math.random() * every));
  for (;;) {
    const started = Date.now();
    await call();
    await new Promise((r) => setTimeout(r, Math.max(0, every - (Date.now() - started))));
  }
}

// What this instance saw of the fleet (sampled every 20 ms), given with each failed call: the harness explains failures with it.
let fleetAt = { members: 0, prober: null };
function seenAt() {
  return { members: fleetAt.members, prober: fleetAt.prober };
}

let seen = '';
setInterval(() => {
  const fleet = registry.fleet;
  if (!fleet) return;
  const prober = (fleet.status('database') || {}).prober;
  fleetAt = { members: fleet.members, prober: prober == null ? null : prober === fleet.id ? 'self' : 'other' };
  const now = `${fleet.members}/${fleet.connected}`;
  if (now === seen) return;
  seen = now;
  out({ ev: 'fleet', members: fleet.members, connected: fleet.connected });
}, 20).unref();

out({ ev: 'ready' });
void loop();

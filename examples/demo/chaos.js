'use strict';
/**
 * The chaos switch: make one dependency fail, as the app sees it, for a number of seconds.
 * Each kind has an injector (`begin`/`end`) that breaks the real thing, so the failures the
 * breakers count are real errors from pg, nats, fs and ws, never a throw made up here:
 *
 *   postgres       the Postgres relay stops listening and drops its connections
 *   slow-database  another client locks the players table in bursts: queries queue in
 *                  Postgres, slow but not failing (lock-holder.js)
 *   nats           the NATS relay does the same
 *   disk           room reads hit a file whose reads fail with EIO
 *   websocket      upgrades are answered 503 and open game connections are dropped
 *
 * Starting a kind that is already failing extends it; stopping one ends it early. SIGUSR2
 * walks through the kinds.
 */
const KINDS = ['postgres', 'slow-database', 'nats', 'disk', 'websocket'];
const DEFAULT_SECONDS = 30;
const MAX_SECONDS = 3600;

class ChaosError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function createChaos(injectors, { log }) {
  const outages = new Map();
  let nextInCycle = 0;

  function checkKind(kind) {
    if (!KINDS.includes(kind)) throw new ChaosError(404, `unknown chaos kind ${JSON.stringify(kind)}: one of ${KINDS.join(', ')}`);
  }

  async function start(kind, seconds = DEFAULT_SECONDS) {
    checkKind(kind);
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_SECONDS) {
      throw new ChaosError(400, `seconds: expected a number above 0 and at most ${MAX_SECONDS}`);
    }
    const injector = injectors[kind];
    if (injector.available && !injector.available()) throw new ChaosError(501, `${kind} chaos is not possible here: ${injector.unavailableReason}`);
    let outage = outages.get(kind);
    if (!outage) {
      outage = { kind, until: 0, timer: null };
      outages.set(kind, outage);
      try {
        await injector.begin();
      } catch (err) {
        outages.delete(kind);
        throw err;
      }
    }
    // Cleared here, after the await above, so a start that overlapped this one leaves one timer.
    clearTimeout(outage.timer);
    outage.until = Date.now() + seconds * 1000;
    outage.timer = setTimeout(() => void end(kind), seconds * 1000);
    return { kind, seconds, until: new Date(outage.until).toISOString() };
  }

  /** Ends `kind` now instead of when its time is up; `stopped` says whether it was on. */
  async function stop(kind) {
    checkKind(kind);
    const on = outages.has(kind);
    await end(kind);
    return { kind, stopped: on };
  }

  async function end(kind) {
    const outage = outages.get(kind);
    if (!outage) return;
    clearTimeout(outage.timer);
    outages.delete(kind);
    try {
      await injectors[kind].end();
      log(`chaos: ${kind} is back`);
    } catch (err) {
      log(`chaos: ${kind} could not be restored: ${err.message}`);
    }
  }

  /** Starts the next kind in turn (SIGUSR2); the ones this machine cannot break are skipped. */
  async function cycle(seconds = DEFAULT_SECONDS) {
    for (let tries = 0; tries < KINDS.length; tries++) {
      const kind = KINDS[nextInCycle];
      nextInCycle = (nextInCycle + 1) % KINDS.length;
      const injector = injectors[kind];
      if (injector.available && !injector.available()) continue;
      return start(kind, seconds);
    }
    throw new ChaosError(501, 'no chaos kind is possible here');
  }

  /** `{ kind: seconds left }` for the outages in progress. */
  function status() {
    const now = Date.now();
    const out = {};
    for (const [kind, { until }] of outages) out[kind] = Math.max(0, Math.ceil((until - now) / 1000));
    return out;
  }

  function isActive(kind) {
    return outages.has(kind);
  }

  async function stopAll() {
    await Promise.all([...outages.keys()].map(end));
  }

  return { start, stop, cycle, status, isActive, stopAll };
}

module.exports = { createChaos, ChaosError, CHAOS_KINDS: KINDS };

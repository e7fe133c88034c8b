'use strict';
/**
 * The demo's log: one line per event on stdout. During an outage the same failure repeats
 * many times a second; `log.every(key, ...)` prints it once per interval so the terminal
 * stays readable and the status lines stay in view.
 */
function createLog(out = process.stdout) {
  const lastByKey = new Map();

  function log(message) {
    const time = new Date().toISOString().slice(11, 19);
    out.write(`${time} ${message}\n`);
  }

  log.every = function every(key, intervalMs, message) {
    const now = Date.now();
    const last = lastByKey.get(key);
    if (last !== undefined && now - last < intervalMs) return;
    lastByKey.set(key, now);
    log(message);
  };

  return log;
}

/** A short description of an error for a log line or a player: code and message, no stack. */
function describe(err) {
  if (!(err instanceof Error)) return String(err);
  return err.code ? `${err.code}: ${err.message}` : err.message;
}

module.exports = { createLog, describe };

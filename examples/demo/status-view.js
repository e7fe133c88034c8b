'use strict';
/**
 * What the breakers are doing, on the terminal.
 * - On a TTY: one line per breaker, redrawn in place every 2 s: state, calls per second,
 *   share of the calls that failed, rejections per second, all over the last interval.
 * - Otherwise (a log file, docker logs, a test): one line per state change, which is what a
 *   log reader wants instead of a table every 2 s.
 */
const { setInterval, clearInterval } = require('node:timers');
const { registry } = require('breakerbox');

const INTERVAL_MS = 2_000;
const ESC = '\x1b[';
const COLOURS = { closed: '32', half_open: '33', open: '31', forced_open: '35', disabled: '90' };

function startStatusView({ out = process.stdout, err = process.stderr, header = () => '' } = {}) {
  return out.isTTY ? startLiveView(out, err, header) : startChangeLog(out);
}

function startChangeLog(out) {
  let stopped = false;
  const print = (line) => {
    if (!stopped) out.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  };
  registry.onAdd((entry) => {
    const breaker = entry.breaker;
    print(`breaker ${breaker.name}: ${breaker.state} (${entry.module})`);
    breaker.on('stateChange', ({ from, to, reason }) => print(`breaker ${breaker.name}: ${from} -> ${to} (${reason})`));
  });
  return { stop: () => void (stopped = true) };
}

function startLiveView(out, err, header) {
  const previous = new Map();
  for (const entry of registry.list()) previous.set(entry.breaker.name, entry.stats.totals());
  let lastAt = Date.now();
  let drawn = 0;
  let mark = null;

  function draw() {
    const now = Date.now();
    const seconds = Math.max((now - lastAt) / 1000, 0.001);
    lastAt = now;
    const lines = [header()];
    const entries = registry.list().sort((a, b) => a.breaker.name.localeCompare(b.breaker.name));
    for (const entry of entries) lines.push(row(entry, previous, seconds));
    // Redraw in place only if nothing else was printed since the last draw; otherwise
    // moving up would overwrite those lines, so draw below them.
    const untouched = mark !== null && out.bytesWritten === mark.out && err.bytesWritten === mark.err;
    const rewind = untouched && drawn > 0 ? `${ESC}${drawn}A${ESC}0J` : '';
    out.write(`${rewind}${lines.join('\n')}\n`);
    // A line wider than the terminal wraps and takes more than one row to rewind over.
    const columns = Math.max(out.columns ?? 80, 1);
    drawn = lines.reduce((rows, line) => rows + Math.max(1, Math.ceil(visibleLength(line) / columns)), 0);
    mark = { out: out.bytesWritten, err: err.bytesWritten };
  }

  const timer = setInterval(draw, INTERVAL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function visibleLength(line) {
  // eslint-disable-next-line no-control-regex
  return line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').length;
}

function row(entry, previous, seconds) {
  const name = entry.breaker.name;
  const totals = entry.stats.totals();
  const before = previous.get(name) ?? totals;
  previous.set(name, totals);
  const delta = (outcome) => (totals[outcome] ?? 0) - (before[outcome] ?? 0);
  const failed = delta('failure') + delta('timeout');
  const attempted = failed + delta('success') + delta('ignored');
  const calls = attempted + delta('rejected');
  const state = entry.breaker.state;
  const failedShare = attempted === 0 ? '   -' : `${Math.round((100 * failed) / attempted)}%`.padStart(4);
  return [
    `  ${name.padEnd(30)}`,
    `${ESC}${COLOURS[state] ?? '0'}m${state.padEnd(11)}${ESC}0m`,
    `${(calls / seconds).toFixed(1).padStart(7)} calls/s`,
    `${failedShare} failed`,
    `${(delta('rejected') / seconds).toFixed(1).padStart(7)} rejected/s`,
  ].join('  ');
}

module.exports = { startStatusView };

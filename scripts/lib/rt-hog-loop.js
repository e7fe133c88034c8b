'use strict';
// The body of the real-time CPU hog (scripts/lib/rt-hog.ts starts it under `chrt -f` and
// `taskset`): busy BUSY_MS of every PERIOD_MS, asleep the rest, until MAX_MS have passed.
// At real-time priority it takes its share of the CPU whatever runs there at normal
// priority, so the processes on that CPU keep a fixed share however many they are (a
// normal-priority hog loses CPU to a server that starts more backends). It ends by itself
// at MAX_MS even if nobody stops it. Args: BUSY_MS PERIOD_MS MAX_MS.
const { performance } = require('node:perf_hooks');

const [busyMs, periodMs, maxMs] = process.argv.slice(2).map(Number);
if (!(busyMs > 0 && periodMs > busyMs && maxMs > 0)) {
  process.stderr.write(`rt-hog-loop: need 0 < BUSY_MS < PERIOD_MS and MAX_MS > 0, got ${process.argv.slice(2).join(' ')}\n`);
  process.exit(2);
}
// Atomics.wait on a cell nobody writes is a precise sleep without the event loop.
const cell = new Int32Array(new SharedArrayBuffer(4));
const end = performance.now() + maxMs;
let next = performance.now();
process.stdout.write('hogging\n');
while (performance.now() < end) {
  const busyUntil = next + busyMs;
  while (performance.now() < busyUntil) {
    // spin
  }
  next += periodMs;
  const idle = next - performance.now();
  // Behind schedule (e.g. the kernel's real-time throttling stopped us): start a fresh period
  // rather than spin through the missed ones back to back.
  if (idle > 0) Atomics.wait(cell, 0, 0, idle);
  else next = performance.now();
}

import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/core';
import { AUTO_FAILURE_RATE } from '../../../src/core/failure-baseline';
import { AUTO_SLOW_CALL } from '../../../src/core/latency-baseline';
import { boom, FakeClock } from './fake-clock';

const HOUR = 3_600_000;

/** Calls `b` `count` times, 10 ms apart; call i fails when `fails(i)`. Returns the index (from 1) it opened at, or -1. */
async function traffic(b: CircuitBreaker, clock: FakeClock, count: number, fails: (i: number) => boolean): Promise<number> {
  for (let i = 0; i < count; i++) {
    clock.advance(10);
    if (fails(i)) await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    else await b.execute(async () => 1);
    if (b.state === 'open') return i + 1;
  }
  return -1;
}

/** Successful calls each taking `ms` (the fake clock moves while they run), `gapMs` apart. */
async function timed(b: CircuitBreaker, clock: FakeClock, count: number, ms: number, gapMs = 10): Promise<void> {
  for (let i = 0; i < count; i++) {
    clock.advance(gapMs);
    await b.execute(async () => clock.advance(ms));
  }
}

/** 5 %: one call in 20 fails, evenly spread, so a 100-call window always holds exactly 5. */
const fivePercent = (i: number): boolean => i % 20 === 19;
/** 40 %: two calls in 5. */
const fortyPercent = (i: number): boolean => i % 5 >= 3;

function autoRate(clock: FakeClock, extra: Partial<ConstructorParameters<typeof CircuitBreaker>[0]> = {}): CircuitBreaker {
  return new CircuitBreaker({ name: 't', failureThreshold: 0, failureRate: 'auto', windowSize: 100, now: clock.now, ...extra });
}

describe("CircuitBreaker failureRate: 'auto' (a learned failure baseline)", () => {
  it('never opens on a steady 5 % failure rate over 20,000 calls, and learns that rate', async () => {
    const clock = new FakeClock();
    const b = autoRate(clock);
    expect(await traffic(b, clock, 20_000, fivePercent)).to.equal(-1);
    expect(b.baselineFailureRate).to.be.closeTo(0.05, 0.001);
    expect(b.failureRateThreshold, 'well above 5 %, well below 50 %').to.be.within(0.15, 0.2);
  });

  it('opens within 50 calls when the rate jumps from 5 % to 40 %', async () => {
    const clock = new FakeClock();
    const b = autoRate(clock);
    await traffic(b, clock, 20_000, fivePercent);
    const openedAt = await traffic(b, clock, 200, fortyPercent);
    expect(openedAt).to.be.within(1, 50);
    expect(b.lastTransition?.reason).to.equal('failure_rate');
  });

  it('opens within 50 calls of a jump even after a short history: the window being judged is not learnt', async () => {
    const clock = new FakeClock();
    const b = autoRate(clock);
    await traffic(b, clock, 700, fivePercent);
    expect(b.baselineFailureRate, 'learnt from the 600 calls that left the window').to.be.closeTo(0.05, 0.001);
    expect(await traffic(b, clock, 200, fortyPercent)).to.be.within(1, 50);
  });

  it('uses the cold-start threshold (50 %) until it has learnt from 500 calls (that left the window)', async () => {
    const clock = new FakeClock();
    const b = autoRate(clock);
    expect(b.failureRateThreshold).to.equal(AUTO_FAILURE_RATE.coldThreshold);
    // 40 % from the first call: a fixed 3 % would open at once; auto waits for 50 %.
    expect(await traffic(b, clock, 100 + AUTO_FAILURE_RATE.warmupCalls - 1, fortyPercent)).to.equal(-1);
    expect(b.failureRateThreshold).to.equal(AUTO_FAILURE_RATE.coldThreshold);
    const fresh = autoRate(clock);
    expect(await traffic(fresh, clock, 20, () => true), 'always failing from the start').to.equal(10);
  });

  it('still opens a dependency that always fails, however long it failed a little before', async () => {
    const clock = new FakeClock();
    const b = autoRate(clock);
    // 40 % for a long time: the learned rate is capped, so the bar never passes 50 %.
    expect(await traffic(b, clock, 5000, fortyPercent)).to.equal(-1);
    expect(b.baselineFailureRate).to.equal(AUTO_FAILURE_RATE.maxBaseline);
    expect(b.failureRateThreshold).to.equal(AUTO_FAILURE_RATE.ceiling);
    const openedAt = await traffic(b, clock, 200, () => true);
    expect(openedAt).to.be.within(1, 100);
  });

  it('never opens below the 10 % floor after learning a perfect dependency, and opens at it', async () => {
    const clock = new FakeClock();
    const b = autoRate(clock);
    await traffic(b, clock, 1000, () => false);
    expect(b.baselineFailureRate).to.equal(0);
    expect(b.failureRateThreshold).to.equal(AUTO_FAILURE_RATE.floor);
    // 9 in the last 100 stays closed...
    expect(await traffic(b, clock, 100, (i) => i >= 91)).to.equal(-1);
    expect(b.failureRateThreshold).to.equal(AUTO_FAILURE_RATE.floor);
    // ...a tenth in the same window opens.
    expect(await traffic(b, clock, 1, () => true)).to.equal(1);
  });

  it('learns nothing while open or half-open: a long outage does not raise the bar', async () => {
    const clock = new FakeClock();
    const b = autoRate(clock, { resetTimeoutMs: 10_000 });
    await traffic(b, clock, 2000, fivePercent);
    await traffic(b, clock, 200, () => true);
    expect(b.state).to.equal('open');
    const learnt = b.baselineFailureRate;
    // Six hours of failed trials and refused calls.
    for (let i = 0; i < 6 * 360; i++) {
      clock.advance(10_000);
      await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    }
    expect(b.state).to.equal('open');
    expect(b.baselineFailureRate).to.equal(learnt);
  });

  it('learns nothing while a metrics_only breaker is open either', async () => {
    const clock = new FakeClock();
    const b = autoRate(clock, { mode: 'metrics_only' });
    await traffic(b, clock, 2000, fivePercent);
    for (let i = 0; i < 200 && b.state === 'closed'; i++) await traffic(b, clock, 1, () => true);
    expect(b.state).to.equal('open');
    const learnt = b.baselineFailureRate;
    for (let i = 0; i < 1000; i++) await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    expect(b.baselineFailureRate).to.equal(learnt);
  });

  it('forgets old calls with a one-hour half-life', async () => {
    const clock = new FakeClock();
    const b = autoRate(clock);
    await traffic(b, clock, 1000, fivePercent);
    // Hours later, the same number of perfect calls outweighs the old ones.
    clock.advance(3 * HOUR);
    await traffic(b, clock, 1000, () => false);
    // 900 old calls (45 failures) weigh 1/8 now; the old window's 100 (5 failures) aged out just now.
    expect(b.baselineFailureRate).to.be.closeTo((45 / 8 + 5) / (900 / 8 + 1000), 0.0005);
  });

  it('learns from a time window too (the default): calls are learnt as their slice ages out', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 0, failureRate: 'auto', windowMs: 10_000, now: clock.now });
    // 10 ms apart: the 10 s window holds 1000 calls, the first ones age out after 10 s.
    await traffic(b, clock, 800, fivePercent);
    expect(b.baselineFailureRate, 'nothing has left the window yet').to.equal(0);
    expect(b.failureRateThreshold).to.equal(AUTO_FAILURE_RATE.coldThreshold);
    await traffic(b, clock, 2200, fivePercent);
    expect(b.baselineFailureRate).to.be.closeTo(0.05, 0.002);
    expect(b.failureRateThreshold, 'a 1000-call window has little noise: 3x the baseline').to.be.closeTo(0.15, 0.01);
    // 40 %: the window's rate climbs past 15 % after about 290 calls (10 % of 1000 at the old rate, +0.35 per call).
    const openedAt = await traffic(b, clock, 1000, fortyPercent);
    expect(openedAt).to.be.within(250, 350);
    expect(b.baselineFailureRate, 'the jump was not learnt').to.be.closeTo(0.05, 0.002);
  });

  it('is null (and the fixed threshold is reported) when the failure rate is not auto', () => {
    const b = new CircuitBreaker({ name: 't', failureRate: 0.3 });
    expect(b.baselineFailureRate).to.equal(null);
    expect(b.baselineLatencyMs).to.equal(null);
    expect(b.failureRateThreshold).to.equal(0.3);
    expect(b.options.failureRate).to.equal(0.3);
  });
});

describe("CircuitBreaker slowCallMs: 'auto' (a learned latency baseline)", () => {
  const autoSlow = (clock: FakeClock, extra: Partial<ConstructorParameters<typeof CircuitBreaker>[0]> = {}): CircuitBreaker =>
    new CircuitBreaker({ name: 't', failureThreshold: 0, slowCallMs: 'auto', windowSize: 20, now: clock.now, ...extra });

  it('counts nothing as slow until 100 successful calls were learnt, then a multiple of their p99-ish latency', async () => {
    const clock = new FakeClock();
    const b = autoSlow(clock);
    expect(b.options.slowCallRate, 'slowCallRate defaults to 1 as with a fixed duration').to.equal(1);
    await timed(b, clock, AUTO_SLOW_CALL.warmupCalls - 1, 40);
    expect(b.slowCallThresholdMs).to.equal(0);
    await timed(b, clock, 1, 40);
    expect(b.baselineLatencyMs).to.be.closeTo(40, 0.01);
    expect(b.slowCallThresholdMs).to.be.closeTo(80, 0.01);
  });

  it('never calls a fast dependency slow below the 25 ms floor', async () => {
    const clock = new FakeClock();
    const b = autoSlow(clock, { slowCallRate: 0.5 });
    for (let i = 0; i < 500; i++) await timed(b, clock, 1, i % 2 === 0 ? 0.2 : 3);
    expect(b.baselineLatencyMs).to.be.below(12);
    expect(b.slowCallThresholdMs).to.equal(AUTO_SLOW_CALL.floorMs);
    // 20 ms calls are 10× this dependency's usual, but under the floor: not slow.
    await timed(b, clock, 100, 20);
    expect(b.state).to.equal('closed');
  });

  it('opens on the slow-call rate when calls slow down sharply', async () => {
    const clock = new FakeClock();
    const b = autoSlow(clock, { slowCallRate: 0.5 });
    await timed(b, clock, 500, 40);
    await timed(b, clock, 10, 400);
    expect(b.state).to.equal('open');
    expect(b.lastTransition?.reason).to.equal('slow_call_rate');
  });

  it('follows a lasting shift in latency slowly, not instantly', async () => {
    const clock = new FakeClock();
    // A window large enough that the slow calls never make all of it: this is about learning.
    const b = autoSlow(clock, { windowSize: 10_000 });
    await timed(b, clock, 1000, 40);
    await timed(b, clock, 10, 100);
    expect(b.baselineLatencyMs, 'ten calls later').to.be.below(70);
    // Twelve hours of 100 ms calls, one a minute: the baseline is the new normal.
    for (let i = 0; i < 12 * 60; i++) await timed(b, clock, 1, 100, 60_000);
    expect(b.baselineLatencyMs).to.be.within(95, 120);
  });

  it('keeps a sudden 10× slowdown slow: slow calls are learnt as if they took the slow threshold', async () => {
    const clock = new FakeClock();
    const b = autoSlow(clock, { windowSize: 10_000 });
    await timed(b, clock, 200, 40);
    await timed(b, clock, 50, 400);
    expect(b.slowCallThresholdMs).to.be.below(400);
  });

  it('learns neither from failures nor while open', async () => {
    const clock = new FakeClock();
    const b = autoSlow(clock, { failureThreshold: 3, resetTimeoutMs: 60_000 });
    await timed(b, clock, 200, 40);
    const learnt = b.baselineLatencyMs;
    for (let i = 0; i < 3; i++) {
      await b
        .execute(async () => {
          clock.advance(5000);
          throw boom();
        })
        .catch(() => undefined);
    }
    expect(b.state).to.equal('open');
    expect(b.baselineLatencyMs).to.equal(learnt);
  });
});

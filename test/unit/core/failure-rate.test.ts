import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/core';
import { boom, FakeClock } from './fake-clock';

async function calls(b: CircuitBreaker, ok: number, failed: number): Promise<void> {
  for (let i = 0; i < ok; i++) await b.execute(async () => 1);
  for (let i = 0; i < failed; i++) await b.execute(() => Promise.reject(boom())).catch(() => undefined);
}

describe('CircuitBreaker: the measured failure rate', () => {
  it('is measured over a default 60 s window when the policy is consecutive failures', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 5, now: clock.now });
    await calls(b, 6, 2);
    expect(b.measuredFailureRate).to.equal(0.25);
    clock.advance(61_000);
    expect(b.measuredFailureRate, 'after the window has passed').to.equal(0);
  });

  it('does not change when a consecutive breaker opens', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 3, resetTimeoutMs: 30_000, now: clock.now });
    await calls(b, 7, 2);
    const before = b.measuredFailureRate;
    let atOpen = -1;
    b.on('stateChange', (e) => (atOpen = e.failureRate));
    await calls(b, 0, 1);
    expect(b.state).to.equal('open');
    expect(before).to.equal(2 / 9);
    expect(b.measuredFailureRate).to.equal(3 / 10);
    expect(atOpen, 'the transition reports the same rate').to.equal(3 / 10);
    await calls(b, 0, 5);
    expect(b.measuredFailureRate, 'rejected calls are not failures of the dependency').to.equal(3 / 10);
  });

  it('stays high through a long outage: failed trials count, the calls before it age out', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 3, resetTimeoutMs: 30_000, now: clock.now });
    await calls(b, 20, 3);
    expect(b.state).to.equal('open');
    for (let i = 0; i < 4; i++) {
      clock.advance(30_000);
      await calls(b, 0, 1);
      expect(b.state, `trial ${i + 1} failed`).to.equal('open');
    }
    expect(b.measuredFailureRate).to.equal(1);
  });

  it('starts again from 0 once the breaker closes after a successful trial', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 2, resetTimeoutMs: 1000, now: clock.now });
    await calls(b, 0, 2);
    clock.advance(1000);
    await calls(b, 1, 0);
    expect(b.state).to.equal('closed');
    expect(b.measuredFailureRate).to.equal(0);
  });

  it('is measured over windowSize calls when one is given', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 0, failureRate: 0.9, windowSize: 4 });
    await calls(b, 2, 1);
    expect(b.measuredFailureRate).to.equal(1 / 3);
    await calls(b, 4, 0);
    expect(b.measuredFailureRate, 'the failure fell out of the last 4 calls').to.equal(0);
  });

  it('is named apart from the failureRate option: the option is the threshold, the getter the measurement', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 0, failureRate: 0.9, windowSize: 4 });
    await calls(b, 3, 1);
    expect(b.options.failureRate, 'the threshold in force').to.equal(0.9);
    expect(b.measuredFailureRate, 'what the window holds').to.equal(1 / 4);
    expect(b.failureRate, 'the deprecated getter still reads the measurement').to.equal(1 / 4);
  });
});

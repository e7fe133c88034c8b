import { expect } from 'chai';
import { RatePolicy } from '../../../src/core/rate-policy';
import { CountWindow, TimeWindow } from '../../../src/core/rolling-window';
import { FakeClock } from './fake-clock';

describe('RatePolicy: opens on a failure or slow-call rate over its window', () => {
  it('says nothing until the window holds minimumCalls calls, even if all of them failed', () => {
    const p = new RatePolicy(new CountWindow(10), 0.5, 0, 4);
    expect(p.record(true, false, 0)).to.equal(null);
    expect(p.record(true, false, 0)).to.equal(null);
    expect(p.record(true, false, 0)).to.equal(null);
    expect(p.record(true, false, 0)).to.equal('failure_rate');
  });

  it('opens when the failure rate reaches the threshold, not below it', () => {
    const p = new RatePolicy(new CountWindow(4), 0.5, 0, 4);
    expect(p.record(false, false, 0)).to.equal(null);
    expect(p.record(false, false, 0)).to.equal(null);
    expect(p.record(false, false, 0)).to.equal(null);
    expect(p.record(true, false, 0)).to.equal(null);
    expect(p.record(true, false, 0)).to.equal('failure_rate');
  });

  it('opens on the slow-call rate, and the failure rate wins when both are reached', () => {
    const slow = new RatePolicy(new CountWindow(2), 0, 1, 2);
    expect(slow.record(false, true, 0)).to.equal(null);
    expect(slow.record(false, true, 0)).to.equal('slow_call_rate');
    const both = new RatePolicy(new CountWindow(2), 1, 1, 2);
    both.record(true, true, 0);
    expect(both.record(true, true, 0)).to.equal('failure_rate');
  });

  it('ignores a rate whose threshold is 0 (off)', () => {
    const p = new RatePolicy(new CountWindow(2), 0, 0, 1);
    expect(p.record(true, true, 0)).to.equal(null);
  });

  it('reports the failure rate of what is still in a time window, and forgets on reset', () => {
    const clock = new FakeClock(0);
    const p = new RatePolicy(new TimeWindow(1000, 10), 0.9, 0, 100);
    p.record(true, false, clock.t);
    clock.advance(500);
    p.record(false, false, clock.t);
    expect(p.failureRate(clock.t)).to.equal(0.5);
    clock.advance(600);
    expect(p.failureRate(clock.t)).to.equal(0);
    p.record(true, false, clock.t);
    p.reset();
    expect(p.failureRate(clock.t)).to.equal(0);
  });
});

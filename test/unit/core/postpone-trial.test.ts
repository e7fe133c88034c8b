import { expect } from 'chai';
import { BreakerOpenError, CircuitBreaker } from '../../../src/core';
import { FakeClock } from './fake-clock';

describe('breaker: a trial postponed to the fleet trial (fleet mode)', () => {
  function opened(clock: FakeClock): CircuitBreaker {
    const b = new CircuitBreaker({ name: 'database', failureThreshold: 1, resetTimeoutMs: 1000, now: clock.now });
    b.actOnEvidence(false, 'failure_threshold');
    return b;
  }

  const refusal = (b: CircuitBreaker): BreakerOpenError => {
    try {
      b.executeSync(() => 'ran');
    } catch (err) {
      return err as BreakerOpenError;
    }
    throw new Error('expected a refusal');
  };

  it('keeps refusing past the reset timeout, with retryAfterMs counting to the postponed trial', () => {
    const clock = new FakeClock();
    const b = opened(clock);
    b.postponeTrial(clock.t + 5000);
    clock.advance(1000);
    expect(refusal(b).retryAfterMs).to.equal(4000);
    clock.advance(4000);
    expect(b.executeSync(() => 'ran')).to.equal('ran');
    expect(b.state).to.equal('closed');
  });

  it('never brings a trial forward, and leaves a breaker that is not open alone', () => {
    const clock = new FakeClock();
    const b = opened(clock);
    b.postponeTrial(clock.t + 10);
    expect(refusal(b).retryAfterMs).to.equal(1000);
    const closed = new CircuitBreaker({ name: 'x', now: clock.now });
    closed.postponeTrial(clock.t + 5000);
    expect(closed.executeSync(() => 'ran')).to.equal('ran');
  });
});

import { expect } from 'chai';
import { BreakerOpenError, RejectionFactory } from '../../../src/core/errors';
import { FakeClock } from './fake-clock';

describe('RejectionFactory: the errors an open breaker refuses calls with', () => {
  it('makes a BreakerOpenError naming the breaker and its state', () => {
    const clock = new FakeClock(1000);
    const err = new RejectionFactory('db', clock.now).make('open', 6000);
    expect(err).to.be.instanceOf(BreakerOpenError);
    expect(err.code).to.equal('ECIRCUITOPEN');
    expect(err.breaker).to.equal('db');
    expect(err.state).to.equal('open');
    expect(err.message).to.contain('"db"');
  });

  it('gives retryAfterMs counting down on the clock, never below 0', () => {
    const clock = new FakeClock(1000);
    const err = new RejectionFactory('db', clock.now).make('open', 6000);
    expect(err.retryAfterMs).to.equal(5000);
    clock.advance(2000);
    expect(err.retryAfterMs).to.equal(3000);
    clock.advance(10_000);
    expect(err.retryAfterMs).to.equal(0);
  });

  it('gives no retry time while forced open', () => {
    const err = new RejectionFactory('db', new FakeClock().now).make('forced_open', null);
    expect(err.retryAfterMs).to.equal(null);
    expect(err.state).to.equal('forced_open');
  });

  it('makes a new error for every refused call, following the state and retry time it is given', () => {
    const clock = new FakeClock(0);
    const f = new RejectionFactory('db', clock.now);
    const a = f.make('open', 100);
    const b = f.make('open', 100);
    const c = f.make('half_open', 300);
    expect(a).not.to.equal(b);
    expect([a.state, b.state, c.state]).to.deep.equal(['open', 'open', 'half_open']);
    expect([a.retryAfterMs, c.retryAfterMs]).to.deep.equal([100, 300]);
  });
});

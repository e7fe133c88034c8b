/**
 * `actOnEvidence`: what a client saw of the dependency outside any guarded call (a nats
 * connection's reconnect loop) moves the breaker at once, and never an operator's state.
 */
import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/core';
import { FakeClock } from './fake-clock';

function breaker(clock: FakeClock): CircuitBreaker {
  return new CircuitBreaker({ name: 'bus', failureThreshold: 5, resetTimeoutMs: 60_000, now: clock.now });
}

describe('CircuitBreaker: evidence from outside a call', () => {
  it('down opens a closed breaker at once, whatever the failure streak', () => {
    const clock = new FakeClock();
    const b = breaker(clock);
    b.actOnEvidence(false, 'reconnect_failures');
    expect(b.state).to.equal('open');
    expect(b.lastTransition).to.deep.include({ from: 'closed', to: 'open', reason: 'reconnect_failures' });
    expect(b.retryAt).to.equal(clock.now() + 60_000);
  });

  it('up half-opens an open breaker at once, and the next call is its trial', async () => {
    const clock = new FakeClock();
    const b = breaker(clock);
    b.actOnEvidence(false, 'reconnect_failures');
    clock.advance(1_000);
    b.actOnEvidence(true, 'reconnected');
    expect(b.state).to.equal('half_open');
    expect(b.lastTransition?.reason).to.equal('reconnected');
    expect(await b.execute(() => 'ok')).to.equal('ok');
    expect(b.state).to.equal('closed');
  });

  it('leaves every other state alone: up on closed, down on open, operator states', () => {
    const clock = new FakeClock();
    const b = breaker(clock);
    b.actOnEvidence(true, 'reconnected');
    expect(b.state).to.equal('closed');
    expect(b.lastTransition).to.equal(null);
    b.forceOpen();
    b.actOnEvidence(true, 'reconnected');
    expect(b.state).to.equal('forced_open');
    b.disable();
    b.actOnEvidence(false, 'reconnect_failures');
    expect(b.state).to.equal('disabled');
  });
});

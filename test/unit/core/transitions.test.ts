import { expect } from 'chai';
import { CircuitBreaker } from '../../../src/core';
import type { BreakerState, StateChangeEvent } from '../../../src/core';
import { isLegalTransition, LEGAL_TRANSITIONS } from '../../../src/core/transitions';
import { boom, FakeClock } from './fake-clock';

const STATES: BreakerState[] = ['closed', 'open', 'half_open', 'forced_open', 'disabled'];

describe('Legal transitions table', () => {
  it('lets an operator send any state to closed, forced_open or disabled', () => {
    for (const from of STATES) {
      for (const to of ['closed', 'forced_open', 'disabled'] as const) {
        if (from !== to) expect(isLegalTransition(from, to), `${from} -> ${to}`).to.equal(true);
      }
    }
  });

  it('only lets calls move closed -> open -> half_open -> closed or back to open', () => {
    expect(isLegalTransition('closed', 'open')).to.equal(true);
    expect(isLegalTransition('open', 'half_open')).to.equal(true);
    expect(isLegalTransition('half_open', 'closed')).to.equal(true);
    expect(isLegalTransition('half_open', 'open')).to.equal(true);
    expect(isLegalTransition('closed', 'half_open')).to.equal(false);
    expect(isLegalTransition('forced_open', 'half_open')).to.equal(false);
    expect(isLegalTransition('forced_open', 'open')).to.equal(false);
    expect(isLegalTransition('disabled', 'open')).to.equal(false);
    expect(isLegalTransition('disabled', 'half_open')).to.equal(false);
  });

  it('never lists a state as a transition to itself', () => {
    for (const from of STATES) expect(LEGAL_TRANSITIONS[from]).not.to.include(from);
  });

  it('covers every transition a breaker makes through an outage, a recovery and operator actions', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 1000, now: clock.now });
    const seen: StateChangeEvent[] = [];
    b.on('stateChange', (e) => seen.push(e));
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    clock.advance(1000);
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    clock.advance(2000);
    await b.execute(async () => 1);
    b.forceOpen();
    b.disable();
    b.enable();
    expect(seen.map((e) => `${e.from}->${e.to}`)).to.deep.equal([
      'closed->open',
      'open->half_open',
      'half_open->open',
      'open->half_open',
      'half_open->closed',
      'closed->forced_open',
      'forced_open->disabled',
      'disabled->closed',
    ]);
    for (const e of seen) expect(isLegalTransition(e.from, e.to), `${e.from} -> ${e.to}`).to.equal(true);
  });

  it("restores a snapshot as a transition out of closed, keeping the snapshot's open time", () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({
      name: 't',
      now: clock.now,
      initialState: {
        name: 't',
        state: 'open',
        openedAt: clock.t - 500,
        currentResetTimeoutMs: 60_000,
        consecutiveFailures: 5,
        outageStartedAt: null,
      },
    });
    expect(b.state).to.equal('open');
    expect(b.lastTransition).to.deep.equal({ from: 'closed', to: 'open', reason: 'restored', at: clock.t });
    expect(b.retryAt).to.equal(clock.t - 500 + 60_000);
    expect(b.toJSON().outageStartedAt).to.equal(null);
  });
});

import { expect } from 'chai';
import { CountWindow, TimeWindow, type RollingWindow } from '../../../src/core/rolling-window';
import { FakeClock } from './fake-clock';

function totals(w: RollingWindow): { calls: number; failures: number; slows: number } {
  return { calls: w.calls, failures: w.failures, slows: w.slows };
}

describe('CountWindow: the last N calls', () => {
  it('counts calls, failures and slow calls until it is full', () => {
    const w = new CountWindow(3);
    w.add(true, false);
    w.add(false, true);
    expect(totals(w)).to.deep.equal({ calls: 2, failures: 1, slows: 1 });
  });

  it('forgets the oldest call once full, whatever it was', () => {
    const w = new CountWindow(2);
    w.add(true, true);
    w.add(false, false);
    w.add(false, false);
    expect(totals(w)).to.deep.equal({ calls: 2, failures: 0, slows: 0 });
  });

  it('adds many successes at once, pushing out old failures', () => {
    const w = new CountWindow(4);
    w.add(true, false);
    w.add(true, false);
    w.addSuccesses(3);
    expect(totals(w)).to.deep.equal({ calls: 4, failures: 1, slows: 0 });
    w.addSuccesses(1_000_000);
    expect(totals(w)).to.deep.equal({ calls: 4, failures: 0, slows: 0 });
  });

  it('starts empty again after reset', () => {
    const w = new CountWindow(2);
    w.add(true, true);
    w.reset();
    expect(totals(w)).to.deep.equal({ calls: 0, failures: 0, slows: 0 });
    w.add(true, false);
    expect(totals(w)).to.deep.equal({ calls: 1, failures: 1, slows: 0 });
  });
});

describe('TimeWindow: the calls of the last windowMs', () => {
  it('keeps calls while they are inside the window', () => {
    const clock = new FakeClock(0);
    const w = new TimeWindow(1000, 10);
    w.add(true, false, clock.t);
    clock.advance(500);
    w.add(false, true, clock.t);
    clock.advance(400);
    w.advance(clock.t);
    expect(totals(w)).to.deep.equal({ calls: 2, failures: 1, slows: 1 });
  });

  it('drops calls as their slice falls out of the window, without any timer', () => {
    const clock = new FakeClock(0);
    const w = new TimeWindow(1000, 10);
    w.add(true, false, clock.t);
    clock.advance(600);
    w.add(false, false, clock.t);
    clock.advance(500);
    w.advance(clock.t);
    expect(totals(w)).to.deep.equal({ calls: 1, failures: 0, slows: 0 });
    clock.advance(10_000);
    w.advance(clock.t);
    expect(totals(w)).to.deep.equal({ calls: 0, failures: 0, slows: 0 });
  });

  it('adds many successes at once in the current slice', () => {
    const clock = new FakeClock(0);
    const w = new TimeWindow(1000, 10);
    w.add(true, false, clock.t);
    w.addSuccesses(9, clock.t);
    expect(totals(w)).to.deep.equal({ calls: 10, failures: 1, slows: 0 });
    clock.advance(1000);
    w.advance(clock.t);
    expect(totals(w)).to.deep.equal({ calls: 0, failures: 0, slows: 0 });
  });

  it('counts a call from a clock that went backwards in the newest slice', () => {
    const clock = new FakeClock(5000);
    const w = new TimeWindow(1000, 10);
    w.add(false, false, clock.t);
    w.add(true, false, clock.t - 3000);
    expect(totals(w)).to.deep.equal({ calls: 2, failures: 1, slows: 0 });
  });

  it('starts empty again after reset', () => {
    const w = new TimeWindow(1000, 10);
    w.add(true, true, 100);
    w.reset();
    expect(totals(w)).to.deep.equal({ calls: 0, failures: 0, slows: 0 });
    w.add(false, false, 50);
    expect(totals(w)).to.deep.equal({ calls: 1, failures: 0, slows: 0 });
  });
});

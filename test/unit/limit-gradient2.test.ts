import { expect } from 'chai';
import { Gradient2Limit } from '../../src/core/limit/gradient2';
import { SampleFeed, Simulation } from './limit-simulation';

describe('Gradient2 adaptive limit', () => {
  it('starts at max, so nothing is shed before any latency is known', () => {
    expect(new Gradient2Limit(2, 100).limit).to.equal(100);
    expect(new Gradient2Limit(2, 100, { initial: 30 }).limit).to.equal(30);
  });

  it('falls when the RTT rises sharply under load, and keeps falling while it stays high', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    expect(feed.busy(200, 10)).to.equal(100);
    const first = feed.busy(20, 50);
    expect(first).to.be.below(100);
    expect(feed.busy(200, 50)).to.be.below(first);
  });

  it('never goes below min however slow calls get, nor above max however fast', () => {
    const algo = new Gradient2Limit(5, 40);
    const feed = new SampleFeed(algo);
    feed.busy(100, 1);
    expect(feed.busy(60, 1000)).to.equal(5);
    for (const rtt of [0, 1e-9, 1e9, 3, 0.5, 1e6, 7]) {
      for (let i = 0; i < 200; i++) {
        feed.busy(1, rtt * (1 + (i % 3)));
        expect(algo.limit).to.be.within(5, 40);
      }
    }
    expect(feed.busy(2000, 0.001)).to.equal(40);
  });

  it('ignores a sample whose time is not a number of milliseconds, and keeps adapting', () => {
    const algo = new Gradient2Limit(5, 40);
    const feed = new SampleFeed(algo);
    feed.busy(100, 10);
    algo.onSample(feed.now, NaN, 40, false);
    algo.onSample(feed.now, -5, 40, false);
    algo.onSample(feed.now, Infinity, 40, false);
    algo.onSample(NaN, 10, 40, false);
    expect(feed.busy(100, 10)).to.equal(40);
    expect(feed.busy(60, 1000)).to.equal(5);
  });

  it('climbs back to max once latency is at baseline again and the app uses the limit', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    expect(feed.busy(300, 80)).to.be.below(20);
    expect(feed.busy(300, 10)).to.equal(100);
  });

  it('does not inflate while the app leaves most of the limit unused', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    const lowered = feed.busy(300, 80);
    expect(feed.feed(10_000, 10, Math.floor(lowered / 2) - 1)).to.equal(lowered);
  });

  it('a failed call never counts as fast: quick failures under load do not raise the limit', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    const lowered = feed.busy(300, 80);
    expect(feed.feed(300, 1, lowered, true)).to.be.at.most(lowered);
  });

  it('a timed-out call counts as slow: timeouts under load lower the limit', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    expect(feed.feed(100, 1000, 100, true)).to.be.below(50);
  });

  it('against a queueing dependency, sheds the excess and settles near its capacity, then admits all again once it recovers', () => {
    // Capacity 20 calls at once, 10 ms each (2 calls/ms), offered 4 calls/ms. Measured
    // (seed 7): the limit settles at 28 ± 0.6 over the first 30 s (c + sqrt(c) ≈ 25 plus noise),
    // mean RTT 13.6 ms against 10 ms alone; then at baseline it climbs back and nothing is shed.
    const sim = new Simulation(new Gradient2Limit(1, 200), 7);
    const healthy = sim.run({ ms: 10_000, arrivalsPerMs: 2, serviceMs: 10, capacity: 50 });
    expect(healthy.shed).to.equal(0);
    const overload = sim.run({ ms: 30_000, arrivalsPerMs: 4, serviceMs: 10, capacity: 20 });
    expect(overload.meanLimit).to.be.within(20, 32);
    expect(overload.sdLimit).to.be.below(3);
    expect(overload.meanRtt).to.be.below(16);
    const recovered = sim.run({ ms: 10_000, arrivalsPerMs: 2, serviceMs: 10, capacity: 50 });
    expect(recovered.shedLate).to.equal(0);
    expect(recovered.minLimit).to.be.at.least(40);
  });
});

import { expect } from 'chai';
import { Gradient2Limit } from '../../src/core/limit/gradient2';
import { SampleFeed, Simulation } from './limit-simulation';

// The common promises (bounds, recovery, idle, convergence) are in limit-algorithms.test.ts.
describe('Gradient2 adaptive limit: its own maths', () => {
  it('starts where `initial` says, within min and max', () => {
    expect(new Gradient2Limit(2, 100, { initial: 30 }).limit).to.equal(30);
    expect(new Gradient2Limit(2, 100, { initial: 500 }).limit).to.equal(100);
  });

  it('one very slow round trip cuts the limit at once, by half at most: the gradient is clamped at 0.5', () => {
    const algo = new Gradient2Limit(2, 100);
    const feed = new SampleFeed(algo);
    feed.busy(200, 10);
    // 100 * 0.5 + 1 (the queue allowance) = 51, with no smoothing on the way down.
    expect(feed.busy(1, 10_000)).to.equal(51);
  });

  it('keeps falling while the RTT stays high, to twice the queue it allows (2) when the gradient is at its floor', () => {
    const feed = new SampleFeed(new Gradient2Limit(1, 100));
    feed.busy(200, 10);
    const first = feed.busy(5, 50);
    expect(first).to.be.below(100);
    // With the gradient at its 0.5 floor the limit tends to L = 0.5 L + 1, i.e. 2.
    expect(feed.busy(100, 50)).to.equal(2);
  });

  it('comes down from max within a handful of round trips when latency jumps under load', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    // One call per round: the short-term RTT takes a few of them to climb, then each round cuts by
    // the whole gradient (100 87 65 43 26 15 8 5 3 2); with smoothing 0.2 it took over 30.
    expect(feed.busy(10, 50)).to.equal(2);
  });

  it('at baseline latency grows back to max within a few round trips, even when the app uses little of it', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    expect(feed.busy(100, 60)).to.equal(2);
    // One or two calls in flight, at the old latency: the long-term RTT falls back and the limit doubles per round.
    feed.feed(40, 10, 2);
    expect(feed.feed(20, 10, 1)).to.equal(100);
  });

  it('does not grow while latency stays above the tolerance, however little of the limit is used', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    const lowered = feed.busy(20, 40);
    expect(lowered).to.be.within(2, 99);
    for (let i = 0; i < 2_000; i++) expect(feed.feed(1, 40, 1)).to.be.at.most(lowered);
  });

  it('a limit the app does not use is cut straight to twice what was used, not halved round after round', () => {
    const algo = new Gradient2Limit(2, 100);
    const feed = new SampleFeed(algo);
    feed.busy(200, 10);
    // Slow calls with eight at most in flight: the first cut goes to 16, where halving from 100 would give 51.
    let limit = 100;
    for (let i = 0; i < 10 && limit === 100; i++) limit = feed.feed(1, 60, 8);
    expect(limit).to.equal(16);
  });

  it('an overload of tens of seconds is not learned as normal: the limit stays down throughout', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    // Thirty seconds at 40 ms, using the limit: it must still be near its floor at the end.
    feed.busy(100, 40);
    expect(feed.busy(650, 40)).to.be.at.most(3);
  });

  it('a lasting slowdown becomes the new normal: the limit climbs back within minutes', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    expect(feed.busy(100, 30)).to.be.below(10);
    // Ten simulated minutes at 30 ms: the long-term RTT has learned 30 ms.
    expect(feed.busy(20_000, 30)).to.equal(100);
  });

  it('once latency is back to normal, the long-term RTT falls back within seconds, so the next slowdown is caught at once', () => {
    const feed = new SampleFeed(new Gradient2Limit(2, 100));
    feed.busy(200, 10);
    feed.busy(20_000, 40); // ten minutes at 40 ms: learned as normal
    expect(feed.busy(1000, 10)).to.equal(100); // ten seconds back at 10 ms
    // Against a long-term RTT still near 40 ms (as a plain 60 s average would leave it) a return
    // to 40 ms would barely register; pulled back to 10 ms, it cuts at once.
    expect(feed.busy(10, 40)).to.be.below(70);
  });
});

describe("Gradient2 against issue 14's overload, simulated", () => {
  // The real benchmark (scripts/bench-overload.ts) in miniature: a dependency that serves one
  // call at a time, 3 ms healthy, offered 60% of that (Poisson); 12 ms a call for 25 s, about
  // a quarter of the capacity; then healthy again. Five seeds, so no single lucky draw passes.
  for (const seed of [7, 8, 9, 10, 11]) {
    it(`seed ${seed}: p99 at most 3x the slowed service time from 5 s in, goodput at least 85%, few shed after`, () => {
      const sim = new Simulation(new Gradient2Limit(2, 100), seed);
      sim.run({ ms: 10_000, arrivalsPerMs: 0.2, serviceMs: 3, capacity: 1 });
      const slowed = sim.run({ ms: 25_000, arrivalsPerMs: 0.2, serviceMs: 12, capacity: 1 });
      expect(slowed.p99RttSettled / 12).to.be.at.most(3);
      // What the slowed dependency serves alone: one call per 12 ms.
      expect(slowed.admitted / (25_000 / 12)).to.be.at.least(0.85);
      const after = sim.run({ ms: 15_000, arrivalsPerMs: 0.2, serviceMs: 3, capacity: 1 });
      // This Poisson traffic on a one-at-a-time dependency queues now and then even when healthy
      // (M/M/1 at 60%), and such bursts are shed before the overload too; from 7.5 s after it, at
      // most as many as one call in a hundred.
      expect(after.shedLate / after.offered, 'share shed over the last 7.5 s').to.be.at.most(0.01);
    });
  }
});

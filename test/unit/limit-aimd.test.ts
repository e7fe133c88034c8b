import { expect } from 'chai';
import { AimdLimit } from '../../src/core/limit/aimd';
import { SampleFeed, Simulation } from './limit-simulation';

// The common promises (bounds, recovery, idle, convergence) are in limit-algorithms.test.ts.
describe('AIMD adaptive limit: its own maths', () => {
  it('a dropped call cuts the limit to 90%', () => {
    const feed = new SampleFeed(new AimdLimit(2, 100));
    feed.busy(200, 10);
    expect(feed.feed(1, 10, 100, true)).to.equal(90);
  });

  it('a burst of timeouts of calls that started before the cut cuts once, not once per timeout', () => {
    const algo = new AimdLimit(2, 100);
    const feed = new SampleFeed(algo);
    feed.busy(200, 10);
    const started = feed.now;
    for (let i = 0; i < 50; i++) algo.onSample(started + 5000 + i, 5000 + i, 100, true);
    expect(algo.limit).to.equal(90);
    // A call started after the cut that also times out is news: cut again.
    algo.onSample(started + 20_000, 5000, 90, true);
    expect(algo.limit).to.equal(81);
  });

  it('a quick failure of a call started after the cut is news too: its own start time counts, not its stand-in RTT', () => {
    const algo = new AimdLimit(2, 100);
    const feed = new SampleFeed(algo);
    feed.busy(200, 10);
    expect(feed.feed(1, 10, 100, true)).to.equal(90);
    // Started 1 ms after the cut, refused 4 ms later; it counts as 10 ms slow, but began after the cut.
    algo.onSample(feed.now + 5, 4, 90, true);
    expect(algo.limit).to.equal(81);
  });

  it('adds one per round trip of successes while the app uses at least half of it', () => {
    const feed = new SampleFeed(new AimdLimit(2, 100, { initial: 50 }));
    expect(feed.busy(10, 10)).to.equal(60);
    expect(feed.feed(10, 10, 24)).to.equal(60);
  });

  it('counts latency as congestion only above twice the no-load RTT', () => {
    const feed = new SampleFeed(new AimdLimit(2, 100, { initial: 50 }));
    feed.feed(100, 10, 10);
    expect(feed.busy(20, 19)).to.equal(70);
    expect(feed.busy(40, 21)).to.be.below(70);
  });

  it('treats every dropped call as congestion: 5% failures hold the limit low even at baseline latency', () => {
    // Pick aimd only where a dropped call means overload. Measured (seed 7): limit 15 ± 3
    // while the app wants about 20 in flight.
    const sim = new Simulation(new AimdLimit(1, 200), 7);
    const r = sim.run({ ms: 20_000, arrivalsPerMs: 2, serviceMs: 10, capacity: 50, dropRate: 0.05 });
    expect(r.meanLimit).to.be.below(30);
    expect(r.shedLate).to.be.above(0);
  });
});

import { expect } from 'chai';
import { VegasLimit } from '../../src/core/limit/vegas';
import { SampleFeed, Simulation } from './limit-simulation';

// The common promises (bounds, recovery, idle, convergence) are in limit-algorithms.test.ts.
describe('Vegas adaptive limit: its own maths', () => {
  it('a dropped call lowers the limit by max(1, log10(limit)), once per round trip', () => {
    const algo = new VegasLimit(2, 100);
    const feed = new SampleFeed(algo);
    feed.busy(200, 10);
    expect(feed.feed(1, 10, 100, true)).to.equal(98);
  });

  it('grows by 6 log10(limit) a round trip while nothing waits', () => {
    const feed = new SampleFeed(new VegasLimit(2, 1000, { initial: 100 }));
    feed.feed(200, 10, 10); // learn 10 ms unloaded, without growing (the app uses little)
    expect(feed.busy(1, 10)).to.equal(112);
  });

  it('holds the limit while the estimated queue is between 3 and 6 log10(limit)', () => {
    const feed = new SampleFeed(new VegasLimit(2, 100, { initial: 50 }));
    feed.feed(200, 10, 10); // learn 10 ms unloaded, without growing
    // queue = 50 * (1 - 10 / rtt) is 7.5, between 5.1 and 10.2, at rtt = 11.76 ms.
    feed.feed(100, 11.76, 10);
    expect(feed.busy(200, 11.76)).to.equal(50);
  });

  it('against a queueing dependency settles between c + 3 log10(limit) and c + 6 log10(limit)', () => {
    // c = 20: between about 24 and 28. Measured (seed 11): 28.5 ± 0.8 over the last 15 s.
    const sim = new Simulation(new VegasLimit(1, 200), 11);
    sim.run({ ms: 5_000, arrivalsPerMs: 1, serviceMs: 10, capacity: 50 });
    const overload = sim.run({ ms: 30_000, arrivalsPerMs: 4, serviceMs: 10, capacity: 20 });
    expect(overload.meanLimit).to.be.within(23, 31);
  });
});

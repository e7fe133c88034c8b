import { expect } from 'chai';
import { AimdLimit } from '../../src/core/limit/aimd';
import { Gradient2Limit } from '../../src/core/limit/gradient2';
import type { LimitAlgorithm } from '../../src/core/limit/limit-algorithm';
import { VegasLimit } from '../../src/core/limit/vegas';
import { SampleFeed, Simulation } from './limit-simulation';

// What every adaptive algorithm promises, whatever its maths.
const ALGORITHMS: Record<string, (min: number, max: number) => LimitAlgorithm> = {
  gradient2: (min, max) => new Gradient2Limit(min, max),
  vegas: (min, max) => new VegasLimit(min, max),
  aimd: (min, max) => new AimdLimit(min, max),
};

for (const [name, make] of Object.entries(ALGORITHMS)) {
  describe(`${name} adaptive limit: what every algorithm promises`, () => {
    it('starts at max, so nothing is shed before any latency is known', () => {
      expect(make(2, 100).limit).to.equal(100);
    });

    it('falls when the RTT rises sharply under load', () => {
      const feed = new SampleFeed(make(2, 100));
      expect(feed.busy(200, 10)).to.equal(100);
      expect(feed.busy(50, 50)).to.be.below(100);
    });

    it('never goes below min however slow calls get, nor above max however fast', () => {
      const algo = make(8, 40);
      const feed = new SampleFeed(algo);
      feed.busy(100, 1);
      expect(feed.busy(40, 1000)).to.equal(8);
      for (const rtt of [0, 1e-9, 1e9, 3, 0.5, 1e6, 7]) {
        for (let i = 0; i < 200; i++) {
          feed.busy(1, rtt * (1 + (i % 3)));
          expect(algo.limit).to.be.within(8, 40);
          expect(Number.isInteger(algo.limit)).to.equal(true);
        }
      }
      expect(feed.busy(2000, 0.01)).to.equal(40);
    });

    it('moves once per round trip: slow calls admitted before a cut do not cut it again as they drain', () => {
      const algo = make(2, 100);
      const feed = new SampleFeed(algo);
      feed.busy(200, 10);
      // 100 calls started together, before any of them was seen to be slow, finish one by one.
      const started = feed.now;
      algo.onSample(started + 500, 500, 100, false);
      const afterFirst = algo.limit;
      expect(afterFirst).to.be.below(100);
      for (let i = 1; i < 100; i++) algo.onSample(started + 500 + i, 500 + i, 100, false);
      expect(algo.limit).to.equal(afterFirst);
    });

    it('ignores a sample whose time is not a number of milliseconds, and keeps adapting', () => {
      const algo = make(8, 40);
      const feed = new SampleFeed(algo);
      feed.busy(100, 10);
      algo.onSample(feed.now, NaN, 40, false);
      algo.onSample(feed.now, -5, 40, false);
      algo.onSample(feed.now, Infinity, 40, false);
      algo.onSample(NaN, 10, 40, false);
      expect(feed.busy(100, 10)).to.equal(40);
      expect(feed.busy(40, 1000)).to.equal(8);
    });

    it('climbs back to max once latency is at baseline again and the app uses the limit', () => {
      const feed = new SampleFeed(make(2, 100));
      feed.busy(200, 10);
      expect(feed.busy(300, 80)).to.be.below(30);
      expect(feed.busy(1000, 10)).to.equal(100);
    });

    // Gradient2 grows back at baseline latency whatever the use (limit-gradient2.test.ts):
    // a limit left low after an overload shed the next ordinary burst.
    if (name !== 'gradient2')
      it('does not inflate while the app leaves most of the limit unused', () => {
        const feed = new SampleFeed(make(2, 100));
        feed.busy(200, 10);
        const lowered = feed.busy(20, 40);
        expect(lowered).to.be.within(10, 99);
        for (let i = 0; i < 10_000; i++) expect(feed.feed(1, 10, 3)).to.be.at.most(lowered);
      });

    it('a failed call never counts as fast: quick failures under load do not raise the limit', () => {
      const feed = new SampleFeed(make(2, 100));
      feed.busy(200, 10);
      const lowered = feed.busy(300, 80);
      expect(feed.feed(300, 1, lowered, true)).to.be.at.most(lowered);
    });

    it('timed-out calls under load lower the limit', () => {
      const feed = new SampleFeed(make(2, 100));
      feed.busy(200, 10);
      expect(feed.feed(100, 1000, 100, true)).to.be.below(50);
    });

    it('against a queueing dependency, sheds the excess and settles near its capacity, then admits all again once it recovers', () => {
      // Capacity 20 calls at once, 10 ms each (2 calls/ms), offered 4 calls/ms for 30 s;
      // healthy before and after: capacity 50, offered 2 calls/ms (about 20 in flight).
      // Measured (seed 7), limit over the last 15 s of the overload, mean ± sd, and mean RTT:
      //   gradient2 31.9 ± 0.6, 15.4 ms   vegas 28.4 ± 0.8, 13.8 ms   aimd 35.7 ± 2.5, 17.4 ms
      const sim = new Simulation(make(1, 200), 7);
      const healthy = sim.run({ ms: 10_000, arrivalsPerMs: 2, serviceMs: 10, capacity: 50 });
      expect(healthy.shed).to.equal(0);
      const overload = sim.run({ ms: 30_000, arrivalsPerMs: 4, serviceMs: 10, capacity: 20 });
      expect(overload.meanLimit).to.be.within(20, 40);
      expect(overload.sdLimit).to.be.below(4);
      // Admitted calls wait at most about as long again as they are served.
      expect(overload.meanRtt).to.be.below(20);
      // And the dependency is kept busy: goodput close to its 2 calls/ms.
      expect(overload.admitted / 30_000).to.be.above(1.9);
      const recovered = sim.run({ ms: 10_000, arrivalsPerMs: 2, serviceMs: 10, capacity: 50 });
      expect(recovered.shedLate).to.equal(0);
      expect(recovered.minLimit).to.be.at.least(40);
    });
  });
}

import { expect } from 'chai';
import { Gradient2Limit } from '../../src/core/limit/gradient2';
import { SampleFeed } from './limit-simulation';

// The common promises (bounds, recovery, idle, convergence) are in limit-algorithms.test.ts.
describe('Gradient2 adaptive limit: its own maths', () => {
  it('starts where `initial` says, within min and max', () => {
    expect(new Gradient2Limit(2, 100, { initial: 30 }).limit).to.equal(30);
    expect(new Gradient2Limit(2, 100, { initial: 500 }).limit).to.equal(100);
  });

  it('one very slow round trip lowers the limit by a tenth at most: the gradient is clamped at 0.5, then smoothed', () => {
    const algo = new Gradient2Limit(2, 100);
    const feed = new SampleFeed(algo);
    feed.busy(200, 10);
    // 100 * 0.5 + sqrt(100) = 60 estimated; smoothed 100 + 0.2 * (60 - 100) = 92.
    expect(feed.busy(1, 10_000)).to.equal(92);
  });

  it('keeps falling while the RTT stays high, to where the queue it allows, sqrt(limit), is all that is left', () => {
    const feed = new SampleFeed(new Gradient2Limit(1, 100));
    feed.busy(200, 10);
    const first = feed.busy(5, 50);
    expect(first).to.be.below(100);
    // With the gradient at its 0.5 floor the limit tends to L = 0.5 L + sqrt(L), i.e. 4.
    expect(feed.busy(100, 50)).to.equal(4);
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

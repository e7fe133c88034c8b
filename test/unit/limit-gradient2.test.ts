import { expect } from 'chai';
import { Gradient2Limit } from '../../src/core/limit/gradient2';
import { SampleFeed } from './limit-simulation';

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

  it('a limit the app does not use is cut only to twice what it used, so a passing burst sheds nothing afterwards', () => {
    const algo = new Gradient2Limit(2, 100);
    const feed = new SampleFeed(algo);
    feed.busy(200, 10);
    // A burst that queued: slow calls, eight at most in flight.
    expect(feed.feed(5, 60, 8)).to.equal(16);
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

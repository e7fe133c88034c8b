import { expect } from 'chai';
import { closedLevels, lastShedAfter, phaseStats, type CallRecord, type ServiceSample } from '../../scripts/lib/overload-stats';

// One call every 10 ms from t=0 for 2 s (200 calls): phase [1000, 2000) holds calls 100..199.
const schedule = { t0: 0, everyMs: 10, count: 200 };
const call = (s: number, l: number, o = 'ok'): CallRecord => ({ s, l, lag: 0, o });

describe('overload-stats: what the overload benchmark reports per phase', () => {
  it('counts offered calls from the schedule, goodput by finishing time, latency of admitted calls only', () => {
    const calls: CallRecord[] = [];
    for (let n = 100; n < 200; n++) calls.push(n % 2 === 0 ? call(n * 10, 5) : call(n * 10, 0.01, 'ECONCURRENCYLIMIT'));
    // Scheduled before the phase, finished in it: goodput of the phase, not its latency.
    calls.push(call(990, 500));
    const s = phaseStats(calls, [], schedule, 1000, 2000, 2100);
    expect(s.offered).to.equal(100);
    expect(s.shed).to.equal(50);
    expect(s.goodput).to.equal(51);
    expect(s.p50).to.equal(5);
    expect(s.p99).to.equal(5);
    expect(s.unfinished).to.equal(0);
    expect(s.p99LowerBound).to.equal(false);
  });

  it('counts calls that never finished, and makes the p99 a lower bound that includes them', () => {
    const calls = [];
    for (let n = 100; n < 180; n++) calls.push(call(n * 10, 2));
    const s = phaseStats(calls, [], schedule, 1000, 2000, 5000);
    expect(s.unfinished).to.equal(20);
    expect(s.p99LowerBound).to.equal(true);
    expect(s.p99).to.equal(3000);
  });

  it('separates refusals by an open breaker and failed admitted calls from shed calls', () => {
    const calls = [call(1000, 1, 'ECIRCUITOPEN'), call(1010, 1, 'ECONNRESET'), call(1020, 1, 'ECONCURRENCYLIMIT')];
    const s = phaseStats(calls, [], { t0: 1000, everyMs: 10, count: 3 }, 1000, 1030, 1030);
    expect([s.rejected, s.failed, s.shed]).to.deep.equal([1, 1, 1]);
  });

  it('takes pool queue, in-flight and limit range from the samples inside the phase', () => {
    const samples: ServiceSample[] = [
      { t: 500, w: 99, i: 99, lim: 1 },
      { t: 1000, w: 3, i: 12, lim: 10 },
      { t: 1500, w: 7, i: 9, lim: 4 },
      { t: 2000, w: 50, i: 50, lim: 50 },
    ];
    const s = phaseStats([], samples, schedule, 1000, 2000, 2000);
    expect([s.maxWaiting, s.maxInflight]).to.deep.equal([7, 12]);
    expect(s.limit).to.deep.equal({ min: 4, max: 10 });
    expect(phaseStats([], [{ t: 1000, w: 0, i: 0, lim: null }], schedule, 1000, 2000, 2000).limit).to.equal(null);
  });

  it('says when the last call was shed relative to a moment, or that none was', () => {
    const calls = [call(1000, 0, 'ECONCURRENCYLIMIT'), call(4500, 0, 'ECONCURRENCYLIMIT'), call(9000, 3)];
    expect(lastShedAfter(calls, 2000)).to.equal(2.5);
    expect(lastShedAfter(calls, 6000)).to.equal(-1.5);
    expect(lastShedAfter([call(1, 1)], 0)).to.equal(null);
  });

  it('gives a closed loop its throughput and latency per concurrency level', () => {
    const calls: CallRecord[] = [];
    for (let i = 0; i < 100; i++) calls.push({ ...call(i * 10, 10), lv: 1 });
    for (let i = 0; i < 150; i++) calls.push({ ...call(1000 + i * 6, 13), lv: 2 });
    calls.push({ ...call(1500, 1, 'ECONNRESET'), lv: 2 });
    const levels = closedLevels(calls, [
      { c: 1, t0: 0, t1: 1000 },
      { c: 2, t0: 1000, t1: 2000 },
    ]);
    expect(levels.map((x) => [x.concurrency, x.throughput, x.p50])).to.deep.equal([
      [1, 100, 10],
      [2, 150, 13],
    ]);
  });
});

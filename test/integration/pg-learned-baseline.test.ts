/**
 * `failure_rate: auto` against real Postgres: steady counted failures (connections reset by
 * our fault proxy under 5 % of the queries) become the learnt baseline and do not open the
 * breaker; a jump to 40 % does, within 50 queries, and the breaker then refuses without I/O.
 */
import { expect } from 'chai';
import { plannedFaultCalls, type PlannedFaultCalls } from '../helpers/pg-planned-faults';
import { pgThroughProxy, SHARED_PG, totals, type ProxiedPg } from './pg-harness';

describe('pg: failure_rate: auto opens on a real jump in failures, not on the usual ones', function () {
  this.timeout(60_000);
  let s: ProxiedPg;
  let calls: PlannedFaultCalls | null = null;
  pgThroughProxy(
    `
circuit_breakers:
  database:
    failure_threshold: 0
    failure_rate: auto
    window_size: 100
    timeout: 60s
    operations: [query]
`,
    (ready) => (s = ready),
  );
  after(() => calls?.end());

  it('learns a steady 5 % of reset connections as normal, then opens within 50 queries of 40 %', async () => {
    calls = await plannedFaultCalls(s.h.pg, s.proxy, SHARED_PG);
    const breaker = s.h.entry().breaker;
    // 700: the first 100 stay in the window; 500 learnt calls end the cold start.
    for (let i = 0; i < 700; i++) {
      const outcome = await calls.call(i % 20 === 19);
      expect(outcome, `query ${i + 1} of the 5 % phase`).to.equal(i % 20 === 19 ? 'failed' : 'ok');
    }
    expect(breaker.state).to.equal('closed');
    expect(totals(s.h.entry())).to.include({ success: 665, failure: 35 });
    expect(breaker.baselineFailureRate).to.be.closeTo(0.05, 0.001);

    let openedAfter = -1;
    for (let i = 0; i < 100 && openedAfter < 0; i++) {
      await calls.call(i % 5 >= 3);
      if (breaker.state === 'open') openedAfter = i + 1;
    }
    expect(openedAfter, 'queries at 40 % before it opened').to.be.within(1, 50);
    expect(breaker.lastTransition?.reason).to.equal('failure_rate');

    const accepted = s.proxy.accepted;
    expect(await calls.call(false)).to.equal('refused');
    expect(s.proxy.accepted, 'a refused query opens no connection').to.equal(accepted);
  });
});

import { expect } from 'chai';
import { DURATION_EXPECTED, parseDuration } from '../../../src/config';

describe('config durations', () => {
  const accepted: Array<[unknown, number]> = [
    [30, 30_000],
    [0.25, 250],
    [1.1, 1100],
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    [' 10s ', 10_000],
    ['0.5ms', 0.5],
  ];
  for (const [input, ms] of accepted) {
    it(`reads ${JSON.stringify(input)} as ${ms} ms`, () => {
      expect(parseDuration(input)).to.deep.equal({ ok: true, ms });
    });
  }

  const refused: unknown[] = ['30', '30 sec', '1m30s', '-5s', 's', '', 'ten seconds', true, null, [30], { s: 1 }, Infinity, NaN];
  for (const input of refused) {
    const shown = typeof input === 'number' ? String(input) : JSON.stringify(input);
    it(`refuses ${shown} saying which forms are accepted`, () => {
      expect(parseDuration(input)).to.deep.equal({ ok: false, expected: DURATION_EXPECTED });
    });
  }

  it('refuses zero and negative seconds, asking for more than 0', () => {
    for (const input of [0, -1, '0s', '0ms']) {
      const r = parseDuration(input);
      expect(r.ok, String(input)).to.equal(false);
      if (!r.ok) expect(r.expected).to.match(/greater than 0/);
    }
  });

  it('refuses durations too long for a Node timer', () => {
    const r = parseDuration('600h');
    expect(r.ok).to.equal(false);
    if (!r.ok) expect(r.expected).to.match(/at most 2147483647 ms/);
    expect(parseDuration('596h').ok).to.equal(true);
  });
});

import { expect } from 'chai';
import { didYouMean, editDistance } from '../../../src/config/suggest';

describe('config did-you-mean', () => {
  it('counts substitutions, insertions, deletions and swaps as one edit each', () => {
    expect(editDistance('timeout', 'timeout')).to.equal(0);
    expect(editDistance('timeot', 'timeout')).to.equal(1);
    expect(editDistance('timeoutt', 'timeout')).to.equal(1);
    expect(editDistance('tineout', 'timeout')).to.equal(1);
    expect(editDistance('tiemout', 'timeout')).to.equal(1);
    expect(editDistance('', 'abc')).to.equal(3);
  });

  const keys = ['failure_threshold', 'timeout', 'window', 'window_size', 'module', 'mode'];
  const cases: Array<[string, string | undefined]> = [
    ['failur_threshold', 'failure_threshold'],
    ['failureThreshold', 'failure_threshold'],
    ['FAILURE-THRESHOLD', 'failure_threshold'],
    ['timout', 'timeout'],
    ['window_sizes', 'window_size'],
    ['modul', 'module'],
    ['banana', undefined],
    ['x', undefined],
  ];
  for (const [typo, meant] of cases) {
    it(meant === undefined ? `suggests nothing for ${typo}` : `suggests ${meant} for ${typo}`, () => {
      expect(didYouMean(typo, keys)).to.equal(meant);
    });
  }

  it('suggests a word the input shortens or lengthens', () => {
    expect(didYouMean('warning', ['debug', 'info', 'warn', 'error'])).to.equal('warn');
  });

  it('maps known other spellings through aliases', () => {
    expect(didYouMean('resetTimeoutMs', keys, { resetTimeoutMs: 'timeout' })).to.equal('timeout');
  });
});

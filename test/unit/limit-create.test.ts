import { expect } from 'chai';
import { createLimitAlgorithm } from '../../src/core/limit/create';
import { AimdLimit } from '../../src/core/limit/aimd';
import { Gradient2Limit } from '../../src/core/limit/gradient2';
import { VegasLimit } from '../../src/core/limit/vegas';

describe('createLimitAlgorithm', () => {
  it('builds the named algorithm, starting at max', () => {
    const cases = [
      ['gradient2', Gradient2Limit],
      ['vegas', VegasLimit],
      ['aimd', AimdLimit],
    ] as const;
    for (const [algorithm, type] of cases) {
      const algo = createLimitAlgorithm({ kind: 'adaptive', algorithm, min: 2, max: 100 });
      expect(algo).to.be.instanceOf(type);
      expect(algo.limit).to.equal(100);
    }
  });

  it('says plainly that a fixed limit is not built here yet', () => {
    expect(() => createLimitAlgorithm({ kind: 'fixed', limit: 10 })).to.throw(/\(kind "fixed"\) is not available yet/);
  });

  it('refuses a min or max that would leave the limit at 0 or upside down, naming the key, value and what was expected', () => {
    expect(() => createLimitAlgorithm({ kind: 'adaptive', algorithm: 'gradient2', min: 0, max: 10 })).to.throw(
      'concurrency.min: got 0, expected a whole number of at least 1',
    );
    expect(() => createLimitAlgorithm({ kind: 'adaptive', algorithm: 'gradient2', min: 1.5, max: 10 })).to.throw(
      /concurrency\.min: got 1\.5/,
    );
    expect(() => createLimitAlgorithm({ kind: 'adaptive', algorithm: 'gradient2', min: 5, max: 4 })).to.throw(
      'concurrency.max: got 4, expected a whole number from min (5) to 100000',
    );
    expect(() => createLimitAlgorithm({ kind: 'adaptive', algorithm: 'gradient2', min: 5, max: 2 ** 31 })).to.throw(
      /concurrency\.max: got 2147483648/,
    );
  });

  it('refuses an algorithm it does not know, naming it', () => {
    expect(() => createLimitAlgorithm({ kind: 'adaptive', algorithm: 'cubic' as 'gradient2', min: 1, max: 10 })).to.throw(
      'concurrency.algorithm: got "cubic", expected one of "gradient2", "vegas", "aimd"',
    );
  });
});

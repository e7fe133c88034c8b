import { expect } from 'chai';
import { parseConfig } from '../../../src/config';
import { CircuitBreaker } from '../../../src/core';
import { resolveOptions } from '../../../src/core/options';
import { FILE, problemsOf, yaml } from './helpers';

function breakerOf(text: string) {
  const config = parseConfig(text, FILE, { env: {}, cwd: '/srv/app' });
  return config.breakers[0];
}

const WHOLE = 'a whole number from 1 to 100000';

describe('config: concurrency', () => {
  it('reads a fixed limit (a bulkhead) into the core option', () => {
    const b = breakerOf(yaml('database:', '  concurrency:', '    limit: 8'));
    expect(b.options.concurrency).to.deep.equal({ limit: 8 });
    expect(new CircuitBreaker({ ...b.options, name: b.name }).concurrencyLimit).to.equal(8);
  });

  it('reads an adaptive limit, leaving unset keys to the core defaults (gradient2, min 2, max 100)', () => {
    const b = breakerOf(yaml('database:', '  concurrency: {limit: adaptive, algorithm: vegas, max: 40}'));
    expect(b.options.concurrency).to.deep.equal({ limit: 'adaptive', algorithm: 'vegas', max: 40 });
    const plain = breakerOf(yaml('database:', '  concurrency: {limit: adaptive}'));
    expect(plain.options.concurrency).to.deep.equal({ limit: 'adaptive' });
  });

  it('is off unless set', () => {
    expect(breakerOf(yaml('database: {}')).options.concurrency).to.equal(undefined);
  });

  const bad: [string, string, { line: number; path: string; value: unknown; expected: string }[]][] = [
    [
      'a bare number',
      yaml('database:', '  concurrency: 10'),
      [
        {
          line: 2,
          path: 'database.concurrency',
          value: 10,
          expected: 'a mapping: { limit: <whole number from 1 to 100000> } or { limit: adaptive, algorithm, min, max }',
        },
      ],
    ],
    [
      'no limit',
      yaml('database:', '  concurrency: {max: 10}'),
      [{ line: 2, path: 'database.concurrency.limit', value: undefined, expected: `${WHOLE} (a fixed bulkhead) or adaptive` }],
    ],
    [
      'a zero limit',
      yaml('database:', '  concurrency:', '    limit: 0'),
      [{ line: 3, path: 'database.concurrency.limit', value: 0, expected: WHOLE }],
    ],
    [
      'a word that is not adaptive',
      yaml('database:', '  concurrency: {limit: auto}'),
      [{ line: 2, path: 'database.concurrency.limit', value: 'auto', expected: `${WHOLE} (a fixed bulkhead) or adaptive` }],
    ],
    [
      'an algorithm with a fixed limit',
      yaml('database:', '  concurrency:', '    limit: 5', '    algorithm: vegas'),
      [{ line: 4, path: 'database.concurrency.algorithm', value: 'vegas', expected: 'no algorithm with a fixed limit' }],
    ],
    [
      'an unknown algorithm',
      yaml('database:', '  concurrency: {limit: adaptive, algorithm: gradient}'),
      [{ line: 2, path: 'database.concurrency.algorithm', value: 'gradient', expected: 'one of: gradient2, vegas, aimd' }],
    ],
    [
      'min above max',
      yaml('database:', '  concurrency:', '    limit: adaptive', '    min: 20', '    max: 10'),
      [{ line: 4, path: 'database.concurrency.min', value: 20, expected: 'a whole number <= max (10)' }],
    ],
    ['min above the default max', yaml('database:', '  concurrency:', '    limit: adaptive', '    min: 200'), []],
    [
      'an unknown key',
      yaml('database:', '  concurrency:', '    limit: 3', '    queue: 10'),
      [{ line: 4, path: 'database.concurrency.queue', value: 10, expected: 'one of: limit, algorithm, min, max' }],
    ],
  ];
  for (const [what, text, want] of bad) {
    if (want.length === 0) {
      it(`accepts ${what} (max follows min)`, () => {
        const b = breakerOf(text);
        expect(resolveOptions({ ...b.options, name: b.name }).concurrency).to.deep.equal({
          limit: 'adaptive',
          algorithm: 'gradient2',
          min: 200,
          max: 200,
        });
      });
      continue;
    }
    it(`refuses ${what}, naming the key, the value and what was expected`, () => {
      const got = problemsOf(text).map((p) => ({ line: p.line, path: p.path, value: p.value, expected: p.expected }));
      expect(got).to.deep.equal(want);
    });
  }
});

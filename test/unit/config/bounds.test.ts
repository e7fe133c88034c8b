import { expect } from 'chai';
import { parseConfig } from '../../../src/config';
import { BreakerOptionsError, CircuitBreaker } from '../../../src/core';
import { FILE, problemsOf, yaml } from './helpers';

/** Every numeric key, where it goes, its largest accepted value and its expectation. */
const BOUNDED: Array<{ key: string; lines: (v: number) => string[]; max: number; expected: string }> = [
  {
    key: 'default_failure_threshold',
    lines: (v) => [`default_failure_threshold: ${v}`],
    max: 1_000_000,
    expected: 'a whole number from 1 to 1000000',
  },
  {
    key: 'database.failure_threshold',
    lines: (v) => ['database:', `  failure_threshold: ${v}`],
    max: 1_000_000,
    expected: 'a whole number from 0 to 1000000',
  },
  {
    key: 'database.half_open_max_calls',
    lines: (v) => ['database:', `  half_open_max_calls: ${v}`],
    max: 10_000,
    expected: 'a whole number from 1 to 10000',
  },
  {
    key: 'database.success_threshold',
    lines: (v) => ['database:', `  success_threshold: ${v}`],
    max: 10_000,
    expected: 'a whole number from 1 to 10000',
  },
  {
    key: 'database.window_size',
    lines: (v) => ['database:', '  failure_rate: 0.5', '  minimum_calls: 1', `  window_size: ${v}`],
    max: 100_000,
    expected: 'a whole number from 1 to 100000',
  },
  {
    key: 'database.minimum_calls',
    lines: (v) => ['database:', '  failure_rate: 0.5', `  minimum_calls: ${v}`],
    max: 1_000_000,
    expected: 'a whole number from 1 to 1000000',
  },
  {
    key: 'database.max_targets',
    lines: (v) => ['database:', '  per_target: true', `  max_targets: ${v}`],
    max: 10_000,
    expected: 'a whole number from 1 to 10000',
  },
  {
    key: 'websocket.max_buffered_amount',
    lines: (v) => ['websocket:', `  max_buffered_amount: ${v}`],
    max: 2 ** 30,
    expected: `a whole number from 1 to ${2 ** 30}`,
  },
  {
    key: 'nats.reconnect_failures',
    lines: (v) => ['nats:', `  reconnect_failures: ${v}`],
    max: 1_000,
    expected: 'a whole number from 1 to 1000',
  },
  { key: 'monitoring.port', lines: (v) => ['monitoring:', `  port: ${v}`], max: 65_535, expected: 'a whole number from 1 to 65535' },
];

describe('config: every number has a bound', () => {
  for (const { key, lines, max, expected } of BOUNDED) {
    it(`refuses ${key} above ${max} with a config problem naming the key, the value and the bound`, () => {
      const problems = problemsOf(yaml(...lines(max + 1)));
      expect(problems.map((p) => ({ path: p.path, value: p.value, expected: p.expected }))).to.deep.equal([
        { path: key, value: max + 1, expected },
      ]);
    });

    it(`accepts ${key} at ${max}`, () => {
      expect(() => parseConfig(yaml(...lines(max)), FILE, { env: {}, cwd: '/srv/app' })).not.to.throw();
    });
  }

  it('refuses window_size: 5000000000 as a config problem, not a RangeError at startup', () => {
    const [p] = problemsOf(yaml('database:', '  failure_rate: 0.5', '  window_size: 5000000000'));
    expect(p.message).to.equal(`${FILE}:3: database.window_size: got 5000000000, expected a whole number from 1 to 100000`);
  });

  it('refuses a huge windowSize in code too, before allocating anything', () => {
    expect(() => new CircuitBreaker({ name: 'x', failureRate: 0.5, windowSize: 1_000_000_000 })).to.throw(
      BreakerOptionsError,
      'CircuitBreaker "x": option windowSize: got 1000000000, expected a whole number from 1 to 100000',
    );
  });
});

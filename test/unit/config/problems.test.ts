import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, DURATION_EXPECTED, parseConfig } from '../../../src/config';
import { FILE, problemsOf, yaml } from './helpers';

interface Want {
  line: number | null;
  path: string;
  value: unknown;
  expected: string;
  /** A fragment the message must contain (hints, did-you-mean). */
  says?: string;
}

const PG_OPS = 'one of the pg operations: connect, query';
const RATE = 'a number greater than 0 and at most 1 (0.5 = 50%)';
/** failure_rate may also be learnt. */
const RATE_OR_AUTO = `${RATE}, or auto (learnt from the dependency)`;

/** Each file is refused with exactly these problems. */
const BAD_FILES: Array<[string, string, Want[]]> = [
  [
    'a negative failure_threshold',
    'database:\n  failure_threshold: -1\n',
    [{ line: 2, path: 'database.failure_threshold', value: -1, expected: 'a whole number from 0 to 1000000' }],
  ],
  [
    'a fractional failure_threshold',
    'database: {failure_threshold: 2.5}\n',
    [{ line: 1, path: 'database.failure_threshold', value: 2.5, expected: 'a whole number from 0 to 1000000' }],
  ],
  [
    'a quoted number',
    'database: {failure_threshold: "3"}\n',
    [{ line: 1, path: 'database.failure_threshold', value: '3', expected: 'a whole number from 0 to 1000000' }],
  ],
  [
    'default_failure_threshold 0',
    'default_failure_threshold: 0\n',
    [{ line: 1, path: 'default_failure_threshold', value: 0, expected: 'a whole number from 1 to 1000000' }],
  ],
  ['a duration with no unit', 'default_timeout: "30"\n', [{ line: 1, path: 'default_timeout', value: '30', expected: DURATION_EXPECTED }]],
  [
    'a duration in words',
    'database: {timeout: half a minute}\n',
    [{ line: 1, path: 'database.timeout', value: 'half a minute', expected: DURATION_EXPECTED }],
  ],
  [
    'an empty duration',
    'database:\n  call_timeout:\n',
    [{ line: 2, path: 'database.call_timeout', value: null, expected: DURATION_EXPECTED, says: 'got nothing' }],
  ],
  [
    'a zero duration',
    'database: {trial_timeout: 0}\n',
    [{ line: 1, path: 'database.trial_timeout', value: 0, expected: `a duration greater than 0 (${DURATION_EXPECTED})` }],
  ],
  [
    'a failure_rate above 1',
    'database: {failure_rate: 1.5}\n',
    [{ line: 1, path: 'database.failure_rate', value: 1.5, expected: RATE_OR_AUTO }],
  ],
  ['a failure_rate of 0', 'database: {failure_rate: 0}\n', [{ line: 1, path: 'database.failure_rate', value: 0, expected: RATE_OR_AUTO }]],
  [
    'a percentage string',
    'database: {failure_rate: 50%}\n',
    [{ line: 1, path: 'database.failure_rate', value: '50%', expected: RATE_OR_AUTO }],
  ],
  [
    'a failure_rate that is almost auto',
    'database: {failure_rate: automatic}\n',
    [{ line: 1, path: 'database.failure_rate', value: 'automatic', expected: RATE_OR_AUTO }],
  ],
  [
    'auto on a key that is not learnt',
    'database: {slow_call_duration: auto, slow_call_rate: auto}\n',
    [{ line: 1, path: 'database.slow_call_rate', value: 'auto', expected: RATE }],
  ],
  [
    'a slow_call_duration that is neither a duration nor auto',
    'database: {slow_call_duration: learned}\n',
    [
      {
        line: 1,
        path: 'database.slow_call_duration',
        value: 'learned',
        expected: `${DURATION_EXPECTED}, or auto (learnt from the dependency)`,
      },
    ],
  ],
  [
    'slow_call_rate without slow_call_duration',
    'database: {slow_call_rate: 0.5}\n',
    [{ line: 1, path: 'database.slow_call_rate', value: 0.5, expected: 'slow_call_duration to be set as well', says: 'does nothing' }],
  ],
  [
    'minimum_calls without a rate policy',
    yaml('database:', '  window_size: 20', '  minimum_calls: 5'),
    [
      {
        line: 3,
        path: 'database.minimum_calls',
        value: 5,
        expected: 'failure_rate or slow_call_duration to be set as well',
        says: 'minimum_calls does nothing',
      },
    ],
  ],
  [
    'both window and window_size',
    'database: {failure_rate: 0.5, window: 30s, window_size: 10}\n',
    [{ line: 1, path: 'database.window', value: '30s', expected: 'either window or window_size, not both', says: 'takes precedence' }],
  ],
  [
    'minimum_calls larger than window_size',
    'database: {failure_rate: 0.5, window_size: 10, minimum_calls: 20}\n',
    [{ line: 1, path: 'database.minimum_calls', value: 20, expected: 'a whole number <= window_size (10)' }],
  ],
  [
    'max_timeout below timeout',
    'database: {timeout: 30, max_timeout: 10}\n',
    [{ line: 1, path: 'database.max_timeout', value: 10, expected: 'a duration >= timeout (30000 ms)' }],
  ],
  [
    'max_timeout below default_timeout',
    'default_timeout: 2m\ndatabase: {max_timeout: 1m}\n',
    [{ line: 2, path: 'database.max_timeout', value: '1m', expected: 'a duration >= default_timeout (120000 ms)' }],
  ],
  [
    'failure_threshold 0 with nothing else to open the breaker',
    'database: {failure_threshold: 0}\n',
    [
      {
        line: 1,
        path: 'database.failure_threshold',
        value: 0,
        expected: 'a whole number >= 1, or failure_rate / slow_call_duration set as well',
      },
    ],
  ],
  [
    'half_open_max_calls 0',
    'database: {half_open_max_calls: 0}\n',
    [{ line: 1, path: 'database.half_open_max_calls', value: 0, expected: 'a whole number from 1 to 10000' }],
  ],
  [
    'an unknown mode',
    'database: {mode: paused}\n',
    [{ line: 1, path: 'database.mode', value: 'paused', expected: 'one of: enforce, metrics_only, disabled, forced_open' }],
  ],
  [
    'an invalid operation',
    'database:\n  operations: [connect, select]\n',
    [{ line: 2, path: 'database.operations[1]', value: 'select', expected: PG_OPS }],
  ],
  [
    'an operation of another module',
    'websocket: {operations: [connect, query]}\n',
    [{ line: 1, path: 'websocket.operations[1]', value: 'query', expected: 'one of the ws operations: connect, send' }],
  ],
  [
    'an empty operations list',
    'database: {operations: []}\n',
    [{ line: 1, path: 'database.operations', value: [], expected: 'a non-empty list of pg operations' }],
  ],
  [
    'operations as a single string',
    'database: {operations: query}\n',
    [{ line: 1, path: 'database.operations', value: 'query', expected: 'a non-empty list of pg operations' }],
  ],
  [
    'operations on a manual breaker',
    'auth: {operations: [hash]}\n',
    [{ line: 1, path: 'auth.operations', value: ['hash'], expected: 'no operations on a manual breaker', says: 'app_operations' }],
  ],
  [
    'an unknown module',
    'reports: {module: postgres}\n',
    [{ line: 1, path: 'reports.module', value: 'postgres', expected: 'one of: pg, nats, ws, fs, manual' }],
  ],
  [
    'a module the name contradicts',
    'database: {module: fs, paths: [x]}\n',
    [
      {
        line: 1,
        path: 'database.module',
        value: 'fs',
        expected: '"pg" or no module key (the name database implies pg)',
        says: 'give the breaker another name',
      },
    ],
  ],
  [
    'fs and ws keys on a pg breaker',
    'database: {paths: [x], sync: true, max_buffered_amount: 10}\n',
    [
      { line: 1, path: 'database.paths', value: ['x'], expected: "paths only on fs breakers (this breaker's module is pg)" },
      { line: 1, path: 'database.sync', value: true, expected: "sync only on fs breakers (this breaker's module is pg)" },
      {
        line: 1,
        path: 'database.max_buffered_amount',
        value: 10,
        expected: "max_buffered_amount only on ws breakers (this breaker's module is pg)",
      },
    ],
  ],
  [
    'reconnect_failures on a ws breaker, and an unusable count on a nats one',
    'websocket: {reconnect_failures: 3}\nnats: {reconnect_failures: 0}\n',
    [
      {
        line: 1,
        path: 'websocket.reconnect_failures',
        value: 3,
        expected: "reconnect_failures only on nats breakers (this breaker's module is ws)",
      },
      { line: 2, path: 'nats.reconnect_failures', value: 0, expected: 'a whole number from 1 to 1000' },
    ],
  ],
  [
    'an fs breaker without paths',
    'file_system:\n  sync: true\n',
    [{ line: 1, path: 'file_system.paths', value: undefined, expected: 'a non-empty list of globs, e.g. ["./data/**"]' }],
  ],
  [
    'an fs breaker with an empty glob and a negated one',
    'uploads: {module: fs, paths: ["", "!tmp/**"]}\n',
    [
      { line: 1, path: 'uploads.paths[0]', value: '', expected: 'a non-empty string' },
      {
        line: 1,
        path: 'uploads.paths[1]',
        value: '!tmp/**',
        expected: 'a glob of paths to guard',
        says: 'negated globs are not supported',
      },
    ],
  ],
  [
    'a breaker name that cannot be a metric label',
    'my-db: {module: pg}\n',
    [
      {
        line: 1,
        path: 'my-db',
        value: 'my-db',
        expected: 'a breaker name of letters, digits and "_" starting with a letter (it becomes the "breaker" metric label)',
      },
    ],
  ],
  [
    'a breaker that is not a mapping',
    'auth: 5\n',
    [{ line: 1, path: 'auth', value: 5, expected: 'a mapping of settings for the breaker auth', says: 'names a breaker' }],
  ],
  [
    'a breaker setting at section level',
    'failure_threshold: 3\n',
    [
      {
        line: 1,
        path: 'failure_threshold',
        value: 3,
        expected: 'a mapping of settings for a breaker named failure_threshold',
        says: 'indent it under a breaker name',
      },
    ],
  ],
  [
    'a bad app operation name and too many',
    yaml(
      'auth:',
      '  app_operations: ["user id 42"]',
      `jobs: {app_operations: [${Array.from({ length: 65 }, (_, i) => `op${i}`).join(', ')}]}`,
    ),
    [
      {
        line: 2,
        path: 'auth.app_operations[0]',
        value: 'user id 42',
        expected:
          'a name of at most 64 letters, digits, "_", "." or "-", starting with a letter or "_" (it becomes the "operation" metric label)',
      },
      {
        line: 3,
        path: 'jobs.app_operations',
        value: Array.from({ length: 65 }, (_, i) => `op${i}`),
        expected: 'at most 64 operation names',
      },
    ],
  ],
  [
    'bad per_target and max_targets',
    'websocket: {per_target: 1, max_targets: 0}\n',
    [
      { line: 1, path: 'websocket.per_target', value: 1, expected: 'true or false' },
      { line: 1, path: 'websocket.max_targets', value: 0, expected: 'a whole number from 1 to 10000' },
    ],
  ],
  ['a string for enabled', 'enabled: "false"\n', [{ line: 1, path: 'enabled', value: 'false', expected: 'true or false' }]],
  [
    'bad monitoring values',
    yaml('monitoring:', '  enabled: yes', '  port: 70000', '  host: ""', '  log_level: verbose'),
    [
      { line: 2, path: 'monitoring.enabled', value: 'yes', expected: 'true or false' },
      { line: 3, path: 'monitoring.port', value: 70000, expected: 'a whole number from 1 to 65535' },
      { line: 4, path: 'monitoring.host', value: '', expected: 'a non-empty string' },
      { line: 5, path: 'monitoring.log_level', value: 'verbose', expected: 'one of: debug, info, warn, error, silent' },
    ],
  ],
  [
    'monitoring that is not a mapping',
    'monitoring: true\n',
    [{ line: 1, path: 'monitoring', value: true, expected: 'a mapping with enabled, port, host, log_level' }],
  ],
  ['a bad tracing value', 'tracing: {call_spans: on}\n', [{ line: 1, path: 'tracing.call_spans', value: 'on', expected: 'true or false' }]],
  [
    'circuit_breakers that is not a mapping',
    'server: {port: 1}\ncircuit_breakers: [database]\n',
    [{ line: 2, path: 'circuit_breakers', value: ['database'], expected: 'a mapping of circuit breaker settings' }],
  ],
  [
    'a document that is a list',
    '- database\n',
    [
      {
        line: 1,
        path: '',
        value: ['database'],
        expected: 'a mapping: the circuit_breakers section itself, or a document with a circuit_breakers key',
      },
    ],
  ],
  [
    'problems under circuit_breakers, with its path',
    yaml('app: {}', 'circuit_breakers:', '  nats:', '    timeout: -1'),
    [{ line: 4, path: 'circuit_breakers.nats.timeout', value: -1, expected: `a duration greater than 0 (${DURATION_EXPECTED})` }],
  ],
];

const ALL_KNOWN_BREAKER_KEYS =
  'one of: module, mode, failure_threshold, timeout, max_timeout, half_open_max_calls, ' +
  'success_threshold, trial_timeout, failure_rate, window, window_size, minimum_calls, slow_call_duration, ' +
  'slow_call_rate, call_timeout, operations, app_operations, paths, per_target, max_targets, sync, max_buffered_amount, reconnect_failures, concurrency';

const UNKNOWN_KEYS: Array<[string, string, Want[]]> = [
  [
    'a typo of a breaker key',
    'database:\n  failur_threshold: 3\n',
    [
      {
        line: 2,
        path: 'database.failur_threshold',
        value: 3,
        expected: ALL_KNOWN_BREAKER_KEYS,
        says: 'unknown key; did you mean "failure_threshold"?',
      },
    ],
  ],
  [
    'a core option name',
    'database: {resetTimeoutMs: 5000}\n',
    [{ line: 1, path: 'database.resetTimeoutMs', value: 5000, expected: ALL_KNOWN_BREAKER_KEYS, says: 'did you mean "timeout"?' }],
  ],
  [
    'a camelCase key',
    'database: {halfOpenMaxCalls: 2}\n',
    [
      {
        line: 1,
        path: 'database.halfOpenMaxCalls',
        value: 2,
        expected: ALL_KNOWN_BREAKER_KEYS,
        says: 'did you mean "half_open_max_calls"?',
      },
    ],
  ],
  [
    'a key nothing resembles',
    'database: {colour: blue}\n',
    [
      {
        line: 1,
        path: 'database.colour',
        value: 'blue',
        expected: ALL_KNOWN_BREAKER_KEYS,
        says: `unknown key, expected ${ALL_KNOWN_BREAKER_KEYS}`,
      },
    ],
  ],
  [
    'a typo of a section key',
    'default_timout: 30\n',
    [
      {
        line: 1,
        path: 'default_timout',
        value: 30,
        expected: 'one of: enabled, default_failure_threshold, default_timeout, monitoring, tracing, fleet',
        says: 'did you mean "default_timeout"?',
      },
    ],
  ],
  [
    'a typo of monitoring',
    'monitorng:\n  port: 9100\n',
    [
      {
        line: 1,
        path: 'monitorng',
        value: { port: 9100 },
        expected: 'one of: enabled, default_failure_threshold, default_timeout, monitoring, tracing, fleet',
        says: 'did you mean "monitoring"?',
      },
    ],
  ],
  [
    'a typo in monitoring',
    'monitoring: {prot: 9100}\n',
    [{ line: 1, path: 'monitoring.prot', value: 9100, expected: 'one of: enabled, port, host, log_level', says: 'did you mean "port"?' }],
  ],
  [
    'a typo in tracing',
    'tracing: {call_span: true}\n',
    [{ line: 1, path: 'tracing.call_span', value: true, expected: 'one of: call_spans', says: 'did you mean "call_spans"?' }],
  ],
  [
    'a mistyped operation',
    'file_system: {paths: [x], operations: [readfile]}\n',
    [
      {
        line: 1,
        path: 'file_system.operations[0]',
        value: 'readfile',
        expected:
          'one of the fs operations: readFile, writeFile, appendFile, open, stat, lstat, readdir, mkdir, rm, rmdir, unlink, rename, copyFile, access',
        says: 'did you mean "readFile"?',
      },
    ],
  ],
  [
    'a mistyped module',
    'events: {module: natss}\n',
    [{ line: 1, path: 'events.module', value: 'natss', expected: 'one of: pg, nats, ws, fs, manual', says: 'did you mean "nats"?' }],
  ],
  [
    'a longer log level',
    'monitoring: {log_level: warning}\n',
    [
      {
        line: 1,
        path: 'monitoring.log_level',
        value: 'warning',
        expected: 'one of: debug, info, warn, error, silent',
        says: 'did you mean "warn"?',
      },
    ],
  ],
];

const SECTION_OR_ROOT = 'enabled, default_failure_threshold, default_timeout, monitoring, tracing, fleet';
const nearName = (name: string, meant: string, module: string): Want => ({
  line: 1,
  path: name,
  value: name,
  expected: `"${meant}" (the breaker that guards ${module}), or a module: key saying what ${name} guards`,
  says: `did you mean "${meant}"?`,
});

/** A breaker name one typo away from a module's breaker would leave that module on defaults, silently. */
const NEAR_MODULE_NAMES: Array<[string, string, Want[]]> = [
  ['a misspelt database', 'databse: {failure_threshold: 3}\n', [nearName('databse', 'database', 'pg')]],
  ['database in another case', 'Database: {failure_threshold: 3}\n', [nearName('Database', 'database', 'pg')]],
  ['nats missing a letter', 'nat: {failure_threshold: 2}\n', [nearName('nat', 'nats', 'nats')]],
  ['a plural websocket', 'websockets: {timeout: 15}\n', [nearName('websockets', 'websocket', 'ws')]],
  ['file_system without its underscore', 'filesystem: {paths: [x]}\n', [nearName('filesystem', 'file_system', 'fs')]],
  ['a module name used as a breaker name', 'pg: {failure_threshold: 3}\n', [nearName('pg', 'database', 'pg')]],
  [
    'a near name under circuit_breakers',
    'circuit_breakers:\n  databse: {timeout: 5}\n',
    [{ ...nearName('databse', 'database', 'pg'), line: 2, path: 'circuit_breakers.databse' }],
  ],
  [
    'a misspelt root key',
    'circuit_breaker:\n  database: {failure_threshold: 3}\n',
    [
      {
        line: 1,
        path: 'circuit_breaker',
        value: { database: { failure_threshold: 3 } },
        expected: `one of: circuit_breakers, ${SECTION_OR_ROOT}`,
        says: 'unknown key; did you mean "circuit_breakers"?',
      },
    ],
  ],
  [
    'a camelCase root key',
    'circuitBreakers: {}\n',
    [
      {
        line: 1,
        path: 'circuitBreakers',
        value: {},
        expected: `one of: circuit_breakers, ${SECTION_OR_ROOT}`,
        says: 'did you mean "circuit_breakers"?',
      },
    ],
  ],
];

function checkRows(rows: Array<[string, string, Want[]]>): void {
  for (const [title, text, wants] of rows) {
    it(`refuses ${title}`, () => {
      const got = problemsOf(text);
      expect(got.map(({ line, path: p, value, expected }) => ({ line, path: p, value, expected }))).to.deep.equal(
        wants.map(({ line, path: p, value, expected }) => ({ line, path: p, value, expected })),
      );
      wants.forEach((w, i) => {
        expect(got[i].file).to.equal(FILE);
        expect(got[i].message).to.match(new RegExp(`^${FILE}:${w.line}: `));
        if (w.path !== '') expect(got[i].message).to.include(`: ${w.path}: `);
        if (w.says !== undefined) expect(got[i].message).to.include(w.says);
      });
    });
  }
}

describe('config problems: one bad file at a time', () => {
  checkRows(BAD_FILES);
});

describe('config problems: unknown keys and values get a did-you-mean', () => {
  checkRows(UNKNOWN_KEYS);
});

describe('config problems: names one typo away from a module breaker', () => {
  checkRows(NEAR_MODULE_NAMES);
});

describe('config problems: reporting', () => {
  const MANY = yaml(
    'circuit_breakers:',
    '  default_failure_threshold: -1',
    '  database:',
    '    failure_threshold: -1',
    '    timeout: soon',
    '    operations: [connect, select]',
    '  file_system:',
    '    operations: [readFile]',
    '  monitoring:',
    '    port: 0',
  );

  it('reports every problem at once, in file order, under one header', () => {
    let err: ConfigError | undefined;
    try {
      parseConfig(MANY, FILE, { env: { OTEL_EXPORTER_PROMETHEUS_HOST: 'a b' }, cwd: '/srv' });
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err).to.be.instanceOf(ConfigError).and.instanceOf(Error);
    expect(err?.code).to.equal('EBREAKERBOXCONFIG');
    expect(err?.name).to.equal('ConfigError');
    expect(err?.message.split('\n')).to.deep.equal([
      `breakerbox: invalid configuration in ${FILE} (7 problems):`,
      `${FILE}:2: circuit_breakers.default_failure_threshold: got -1, expected a whole number from 1 to 1000000`,
      `${FILE}:4: circuit_breakers.database.failure_threshold: got -1, expected a whole number from 0 to 1000000`,
      `${FILE}:5: circuit_breakers.database.timeout: got "soon", expected ${DURATION_EXPECTED}`,
      `${FILE}:6: circuit_breakers.database.operations[1]: got "select", expected ${PG_OPS}`,
      `${FILE}:7: circuit_breakers.file_system.paths: got nothing, expected a non-empty list of globs, e.g. ["./data/**"]; fs breakers guard only the paths listed`,
      `${FILE}:10: circuit_breakers.monitoring.port: got 0, expected a whole number from 1 to 65535`,
      'environment variable OTEL_EXPORTER_PROMETHEUS_HOST: got "a b", expected a host name or IP address',
    ]);
    expect(err?.problems.map((p) => [p.path, p.value])).to.deep.equal([
      ['circuit_breakers.default_failure_threshold', -1],
      ['circuit_breakers.database.failure_threshold', -1],
      ['circuit_breakers.database.timeout', 'soon'],
      ['circuit_breakers.database.operations[1]', 'select'],
      ['circuit_breakers.file_system.paths', undefined],
      ['circuit_breakers.monitoring.port', 0],
      ['OTEL_EXPORTER_PROMETHEUS_HOST', 'a b'],
    ]);
  });

  it('words each problem as file:line: key: got value, expected what', () => {
    const [p] = problemsOf('circuit_breakers:\n  database:\n    failure_threshold: -1\n');
    expect(p.message).to.equal(`${FILE}:3: circuit_breakers.database.failure_threshold: got -1, expected a whole number from 0 to 1000000`);
  });

  it('reports YAML syntax errors with their line, and nothing else from that file', () => {
    const problems = problemsOf(yaml('database:', '  timeout: [1, 2', 'nats: {failure_threshold: -1}'));
    expect(problems).to.have.length.greaterThan(0);
    for (const p of problems) {
      expect(p).to.deep.include({ file: FILE, path: '', expected: 'valid YAML' });
      expect(p.line).to.be.a('number');
      expect(p.message).to.match(new RegExp(`^${FILE}:\\d+: YAML syntax error: `));
    }
  });

  it('reports duplicate keys as a YAML problem', () => {
    const problems = problemsOf('database: {}\ndatabase: {}\n');
    expect(problems).to.have.length(1);
    expect(problems[0].message).to.equal(`${FILE}:2: YAML syntax error: Map keys must be unique (database appears more than once)`);
  });

  it('reports several YAML documents in one file', () => {
    const [p] = problemsOf('database: {}\n---\nnats: {}\n');
    expect(p.message).to.include('more than one YAML document');
  });

  it('reads the whole bad fixture in one go', () => {
    const text = fs.readFileSync(path.join(__dirname, 'fixtures/bad.yaml'), 'utf8');
    expect(problemsOf(text).map((p) => [p.line, p.path])).to.deep.equal([
      [2, 'circuit_breakers.default_failure_threshold'],
      [4, 'circuit_breakers.database.failur_threshold'],
      [5, 'circuit_breakers.database.timeout'],
      [6, 'circuit_breakers.database.operations[1]'],
    ]);
  });
});

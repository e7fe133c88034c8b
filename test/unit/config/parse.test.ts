import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultConfig, parseConfig, type BreakerboxConfig } from '../../../src/config';
import { FILE, problemsOf, yaml } from './helpers';

const parse = (text: string, env: NodeJS.ProcessEnv = {}, cwd = '/srv/app'): BreakerboxConfig => parseConfig(text, FILE, { env, cwd });
const BUILT_IN = ['database', 'nats', 'websocket', 'file_system'];
const breaker = (c: BreakerboxConfig, name: string) => {
  const b = c.breakers.find((x) => x.name === name);
  if (b === undefined) throw new Error(`no breaker ${name}`);
  return b;
};

describe('config document shapes', () => {
  it('accepts the section itself at top level', () => {
    const c = parse(yaml('default_timeout: 5', 'database:', '  failure_threshold: 2'));
    expect(c.source).to.equal(FILE);
    expect(breaker(c, 'database').options).to.deep.equal({ failureThreshold: 2, resetTimeoutMs: 5000 });
  });

  it('reads the circuit_breakers key of an app config and ignores its other keys', () => {
    const text = fs.readFileSync(path.join(__dirname, 'fixtures/server_config.yaml'), 'utf8');
    const c = parse(text);
    expect(c.breakers.map((b) => b.name)).to.deep.equal(['database', 'orders_api', 'nats', 'websocket', 'file_system']);
    expect(breaker(c, 'database').options).to.deep.equal({ failureThreshold: 4, resetTimeoutMs: 20_000 });
    expect(breaker(c, 'orders_api')).to.deep.include({ module: 'manual', operations: null, appOperations: ['create', 'cancel'] });
    expect(c.monitoring.port).to.equal(9100);
  });

  it('takes an empty file as enabled with the built-in module breakers', () => {
    for (const text of ['', '\n', '# nothing configured yet\n', '---\n']) {
      const c = parse(text);
      expect(c.enabled, JSON.stringify(text)).to.equal(true);
      expect(c.breakers.map((b) => b.name)).to.deep.equal(BUILT_IN);
      expect(c.monitoring).to.deep.equal({ enabled: true, port: 9464, host: '0.0.0.0', logLevel: 'info' });
    }
  });

  it('takes `circuit_breakers:` with nothing under it as an empty section', () => {
    const c = parse(yaml('server: {port: 1}', 'circuit_breakers:'));
    expect(c.breakers.map((b) => b.name)).to.deep.equal(BUILT_IN);
    expect(c.enabled).to.equal(true);
  });

  it('tolerates a byte-order mark', () => {
    expect(parse('\uFEFFdatabase: {timeout: 1}\n').breakers[0].options.resetTimeoutMs).to.equal(1000);
  });

  it('expands YAML anchors, aliases and merge keys', () => {
    const c = parse(
      yaml(
        'circuit_breakers:',
        '  nats: &fast',
        '    failure_threshold: 2',
        '    timeout: 2s',
        '  websocket:',
        '    <<: *fast',
        '    timeout: 3s',
      ),
    );
    expect(breaker(c, 'websocket').options).to.deep.equal({ failureThreshold: 2, resetTimeoutMs: 3000 });
  });
});

describe('config: modules the file does not name', () => {
  const builtIn = defaultConfig({ env: {}, cwd: '/srv/app' });

  it("keeps the built-in breaker of every module the file does not name, after the file's own", () => {
    const c = parse(yaml('default_failure_threshold: 9', 'database: {failure_threshold: 2}', 'auth: {}'));
    expect(c.breakers.map((b) => [b.name, b.module])).to.deep.equal([
      ['database', 'pg'],
      ['auth', 'manual'],
      ['nats', 'nats'],
      ['websocket', 'ws'],
      ['file_system', 'fs'],
    ]);
    // Built-in means built-in: the file's section defaults are for the breakers it names.
    for (const name of ['nats', 'websocket', 'file_system']) {
      expect(breaker(c, name)).to.deep.equal(breaker(builtIn, name));
    }
  });

  it('counts a breaker with another name that says module: as naming that module', () => {
    const c = parse(yaml('primary_db: {module: pg}', 'events: {module: nats}'));
    expect(c.breakers.map((b) => b.name)).to.deep.equal(['primary_db', 'events', 'websocket', 'file_system']);
  });

  it('takes window on a consecutive-failure breaker as the window its failure rate is measured over', () => {
    const c = parse(yaml('database: {failure_threshold: 3, window: 2m}', 'nats: {window_size: 50}'));
    expect(breaker(c, 'database').options).to.include({ failureThreshold: 3, windowMs: 120_000 });
    expect(breaker(c, 'nats').options).to.include({ windowSize: 50 });
  });

  it('turns a module off only when the file says so, with mode: disabled', () => {
    const c = parse(yaml('nats: {mode: disabled}'));
    expect(breaker(c, 'nats').disabled).to.equal(true);
    expect(breaker(c, 'database').disabled).to.equal(false);
  });

  it('accepts a near-miss name that says what it guards', () => {
    const c = parse(yaml('databases: {module: pg}', 'Nats: {module: manual}'));
    expect(c.breakers.map((b) => [b.name, b.module])).to.deep.equal([
      ['databases', 'pg'],
      ['Nats', 'manual'],
      ['nats', 'nats'],
      ['websocket', 'ws'],
      ['file_system', 'fs'],
    ]);
  });
});

describe('config section', () => {
  it('keeps the breakers but reports enabled: false (the rollback switch)', () => {
    const c = parse(yaml('enabled: false', 'database: {failure_threshold: 1}'));
    expect(c.enabled).to.equal(false);
    expect(breaker(c, 'database').options.failureThreshold).to.equal(1);
  });

  it('still validates a disabled file', () => {
    expect(problemsOf(yaml('enabled: false', 'database: {failure_threshold: x}'))).to.have.length(1);
  });

  it('applies default_failure_threshold and default_timeout to breakers that do not set them', () => {
    const c = parse(yaml('default_failure_threshold: 7', 'default_timeout: 2m', 'database: {}', 'nats: {timeout: 1}'));
    expect(c.defaults).to.deep.equal({ failureThreshold: 7, resetTimeoutMs: 120_000 });
    expect(breaker(c, 'database').options).to.deep.equal({ failureThreshold: 7, resetTimeoutMs: 120_000 });
    expect(breaker(c, 'nats').options).to.deep.equal({ failureThreshold: 7, resetTimeoutMs: 1000 });
  });

  it('takes a breaker with nothing under it as all defaults', () => {
    expect(breaker(parse('database:\n'), 'database').options).to.deep.equal({ failureThreshold: 5, resetTimeoutMs: 60_000 });
  });

  it('reads monitoring and tracing', () => {
    const c = parse(yaml('monitoring: {enabled: false, port: 9100, host: 127.0.0.1, log_level: warn}', 'tracing: {call_spans: true}'));
    expect(c.monitoring).to.deep.equal({ enabled: false, port: 9100, host: '127.0.0.1', logLevel: 'warn' });
    expect(c.tracing).to.deep.equal({ callSpans: true });
  });
});

describe('config monitoring port and host from the environment', () => {
  const env = { OTEL_EXPORTER_PROMETHEUS_PORT: '9999', OTEL_EXPORTER_PROMETHEUS_HOST: '10.0.0.1' };

  it('uses the environment when the file is silent', () => {
    expect(parse('monitoring: {log_level: info}\n', env).monitoring).to.deep.include({ port: 9999, host: '10.0.0.1' });
    expect(parse('', env).monitoring).to.deep.include({ port: 9999, host: '10.0.0.1' });
  });

  it('lets the file win over the environment, key by key', () => {
    expect(parse('monitoring: {port: 9100}\n', env).monitoring).to.deep.include({ port: 9100, host: '10.0.0.1' });
    expect(parse('monitoring: {host: localhost}\n', env).monitoring).to.deep.include({ port: 9999, host: 'localhost' });
  });

  it('ignores an invalid variable the file overrides', () => {
    expect(parse('monitoring: {port: 9100}\n', { OTEL_EXPORTER_PROMETHEUS_PORT: 'x' }).monitoring.port).to.equal(9100);
  });

  it('ignores empty variables', () => {
    expect(parse('', { OTEL_EXPORTER_PROMETHEUS_PORT: '', OTEL_EXPORTER_PROMETHEUS_HOST: ' ' }).monitoring).to.deep.include({
      port: 9464,
      host: '0.0.0.0',
    });
  });

  for (const bad of ['0', '65536', '80a', '-1', '9464.5']) {
    it(`reports OTEL_EXPORTER_PROMETHEUS_PORT=${bad} as a problem naming the variable`, () => {
      const problems = problemsOf('', { env: { OTEL_EXPORTER_PROMETHEUS_PORT: bad } });
      expect(problems).to.have.length(1);
      expect(problems[0]).to.deep.include({
        file: null,
        line: null,
        path: 'OTEL_EXPORTER_PROMETHEUS_PORT',
        value: bad,
        expected: 'a whole number from 1 to 65535',
      });
      expect(problems[0].message).to.match(/^environment variable OTEL_EXPORTER_PROMETHEUS_PORT: got/);
    });
  }
});

describe('config breaker modules', () => {
  const cases: Array<[string, string, string]> = [
    ['database', '{}', 'pg'],
    ['nats', '{}', 'nats'],
    ['websocket', '{}', 'ws'],
    ['file_system', '{paths: [x]}', 'fs'],
    ['database', '{module: pg}', 'pg'],
    ['reports_db', '{module: pg}', 'pg'],
    ['events', '{module: nats}', 'nats'],
    ['feed', '{module: ws}', 'ws'],
    ['uploads', '{module: fs, paths: [x]}', 'fs'],
    ['auth', '{module: manual}', 'manual'],
    ['auth', '{}', 'manual'],
  ];
  for (const [name, body, module] of cases) {
    it(`makes ${name}: ${body} a ${module} breaker`, () => {
      expect(parse(`${name}: ${body}\n`).breakers[0]).to.deep.include({ name, module });
    });
  }

  it('guards every operation of the module when operations is not set', () => {
    expect(breaker(parse('database: {}\n'), 'database').operations).to.equal(null);
  });

  it('keeps the listed operations, without duplicates', () => {
    expect(breaker(parse('nats: {operations: [publish, request, publish]}\n'), 'nats').operations).to.deep.equal(['publish', 'request']);
  });

  it('turns per-target children on by default for ws breakers only', () => {
    // One breaker per module: the second ws breaker goes in a file of its own.
    const c = parse(yaml('database: {}', 'websocket: {}', 'nats: {per_target: true, max_targets: 5}'));
    expect(breaker(c, 'database')).to.deep.include({ perTarget: false, maxTargets: 100 });
    expect(breaker(c, 'websocket')).to.deep.include({ perTarget: true, maxTargets: 100 });
    expect(breaker(parse('feed: {module: ws, per_target: false}\n'), 'feed').perTarget).to.equal(false);
    expect(breaker(c, 'nats')).to.deep.include({ perTarget: true, maxTargets: 5 });
  });

  it('sets max_buffered_amount for ws breakers only, 1 MiB by default', () => {
    const c = parse(yaml('websocket: {}', 'database: {}'));
    expect(breaker(c, 'websocket').maxBufferedAmount).to.equal(1_048_576);
    expect(breaker(parse('feed: {module: ws, max_buffered_amount: 4096}\n'), 'feed').maxBufferedAmount).to.equal(4096);
    expect(breaker(c, 'database').maxBufferedAmount).to.equal(null);
  });

  it('sets reconnect_failures for nats breakers only, 3 by default', () => {
    const c = parse(yaml('nats: {}', 'database: {}'));
    expect(breaker(c, 'nats').reconnectFailures).to.equal(3);
    expect(breaker(parse('bus: {module: nats, reconnect_failures: 10}\n'), 'bus').reconnectFailures).to.equal(10);
    expect(breaker(c, 'database').reconnectFailures).to.equal(null);
  });

  it('guards sync fs forms only with sync: true', () => {
    expect(breaker(parse('file_system: {paths: [a]}\n'), 'file_system').syncCalls).to.equal(false);
    expect(breaker(parse('cache: {module: fs, paths: [b], sync: true}\n'), 'cache').syncCalls).to.equal(true);
  });

  it('resolves fs paths against cwd at load time and keeps absolute ones', () => {
    const c = parse('file_system: {paths: ["./data/**", "logs/*.log", "/var/spool/app/**", "cache/"]}\n', {}, '/home/app');
    expect(breaker(c, 'file_system').paths).to.deep.equal([
      '/home/app/data/**',
      '/home/app/logs/*.log',
      '/var/spool/app/**',
      '/home/app/cache/**',
    ]);
  });
});

describe('config breaker options', () => {
  it('maps every snake_case key onto the camelCase core option, durations in ms', () => {
    const b = parse(
      yaml(
        'database:',
        '  failure_threshold: 0',
        '  timeout: 30',
        '  max_timeout: 5m',
        '  half_open_max_calls: 2',
        '  success_threshold: 3',
        '  trial_timeout: 1.5s',
        '  failure_rate: 0.5',
        '  window_size: 20',
        '  minimum_calls: 10',
        '  slow_call_duration: 250ms',
        '  slow_call_rate: 0.8',
        '  call_timeout: 2s',
        '  mode: metrics_only',
        '  app_operations: [warmup]',
      ),
    ).breakers[0];
    expect(b.options).to.deep.equal({
      failureThreshold: 0,
      resetTimeoutMs: 30_000,
      maxResetTimeoutMs: 300_000,
      halfOpenMaxCalls: 2,
      successThreshold: 3,
      trialTimeoutMs: 1500,
      failureRate: 0.5,
      windowSize: 20,
      minimumCalls: 10,
      slowCallMs: 250,
      slowCallRate: 0.8,
      callTimeoutMs: 2000,
      mode: 'metrics_only',
    });
    expect(b.appOperations).to.deep.equal(['warmup']);
  });

  it('takes auto for failure_rate and slow_call_duration: learnt thresholds', () => {
    const o = parse('database: {failure_rate: auto, slow_call_duration: auto, window_size: 100}\n').breakers[0].options;
    expect(o).to.include({ failureRate: 'auto', slowCallMs: 'auto', windowSize: 100 });
  });

  it('maps window onto windowMs', () => {
    expect(parse('database: {failure_rate: 0.5, window: 2m}\n').breakers[0].options.windowMs).to.equal(120_000);
  });

  it('sets only the options the file or the defaults set', () => {
    expect(Object.keys(parse('database: {call_timeout: 1}\n').breakers[0].options)).to.have.members([
      'failureThreshold',
      'resetTimeoutMs',
      'callTimeoutMs',
    ]);
  });

  const modes: Array<[string, Record<string, unknown>]> = [
    ['enforce', { mode: 'enforce', disabled: false, forcedOpen: false }],
    ['metrics_only', { mode: 'metrics_only', disabled: false, forcedOpen: false }],
    ['disabled', { mode: 'enforce', disabled: true, forcedOpen: false }],
    ['forced_open', { mode: 'enforce', disabled: false, forcedOpen: true }],
  ];
  for (const [mode, want] of modes) {
    it(`reads mode: ${mode}`, () => {
      const b = parse(`database: {mode: ${mode}}\n`).breakers[0];
      expect({ mode: b.options.mode, disabled: b.disabled, forcedOpen: b.forcedOpen }).to.deep.equal(want);
    });
  }

  it('allows failure_threshold: 0 when a rate policy or an operator mode is in charge', () => {
    expect(() => parse('database: {failure_threshold: 0, failure_rate: 0.5}\n')).not.to.throw();
    expect(() => parse('database: {failure_threshold: 0, mode: forced_open}\n')).not.to.throw();
  });
});

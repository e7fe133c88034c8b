/**
 * `node --require breakerbox/register` and `node --import breakerbox/register`, run the way
 * users run them: real child processes with a config file, answering over HTTP.
 * Needs `npm run build` first (the preload is the compiled dist/).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, type NodeRunResult, runNode, spawnNode } from '../helpers/child-process';
import { freePort, LOOPBACK } from '../helpers/free-port';
import { findSamples, parsePrometheus, sampleValue } from '../helpers/prometheus-text';

const REPO = path.resolve(__dirname, '..', '..');
const APPS = path.join(REPO, 'test', 'fixtures', 'apps');
const REGISTER_CJS = path.join(REPO, 'dist', 'register.js');
const REGISTER_ESM = path.join(REPO, 'dist', 'register.mjs');

interface HttpAnswer {
  status: number;
  body: string;
}

interface ManualReport {
  isBreaker: boolean;
  standalone?: string;
  health: HttpAnswer;
  one: HttpAnswer;
  stats: HttpAnswer;
  metrics: HttpAnswer;
}

function lastJsonLine<T>(r: NodeRunResult): T {
  const lines = r.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]) as T;
  } catch {
    throw new Error(`no JSON report from the app (code ${r.code}, signal ${r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}

function noStackTrace(text: string): void {
  expect(text).to.not.match(/^\s+at /m);
}

describe('preload: node --require / --import breakerbox/register', function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    for (const file of [REGISTER_CJS, REGISTER_ESM, path.join(REPO, 'dist', 'index.mjs')]) {
      if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before these tests`);
    }
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-preload-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function writeConfig(yaml: string): string {
    const file = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(file, yaml);
    return file;
  }

  async function configWithPort(extraLines: string[] = [], monitoringLines: string[] = []): Promise<{ file: string; port: number }> {
    const port = await freePort();
    const file = writeConfig(
      [
        'circuit_breakers:',
        '  database:',
        '    failure_threshold: 3',
        '    timeout: 30',
        '  nats:',
        '    failure_threshold: 2',
        '    timeout: 10',
        '  auth:',
        '    failure_threshold: 2',
        '    timeout: 10',
        ...extraLines,
        '  monitoring:',
        `    port: ${port}`,
        `    host: ${LOOPBACK}`,
        ...monitoringLines,
        '',
      ].join('\n'),
    );
    return { file, port };
  }

  function expectManualReport(report: ManualReport): void {
    expect(report.isBreaker).to.equal(true);

    expect(report.health.status).to.equal(200);
    const health = JSON.parse(report.health.body) as { status: string; breakers: { name: string; module: string; state: string }[] };
    expect(health.status).to.equal('ok');
    const byName = Object.fromEntries(health.breakers.map((b) => [b.name, b]));
    // The configured module breakers are listed from startup, before the app used pg or nats.
    expect(byName.database, 'database in health').to.include({ module: 'pg', state: 'closed' });
    expect(byName.nats, 'nats in health').to.include({ module: 'nats', state: 'closed' });
    expect(byName.auth, 'auth in health').to.include({ module: 'manual', state: 'closed', consecutiveFailures: 1 });

    expect(report.one.status).to.equal(200);
    expect(JSON.parse(report.one.body)).to.include({ name: 'auth', state: 'closed' });

    const stats = JSON.parse(report.stats.body) as { breakers: { name: string; calls: Record<string, number> }[] };
    expect(stats.breakers.find((b) => b.name === 'auth')?.calls).to.include({ success: 1, failure: 1 });

    expect(report.metrics.status).to.equal(200);
    const exposition = parsePrometheus(report.metrics.body);
    for (const breaker of ['database', 'nats', 'auth']) {
      expect(sampleValue(exposition, 'circuit_breaker_state', { breaker, state: 'closed' }), breaker).to.equal(1);
    }
    const labels = { breaker: 'auth', module: 'manual', operation: 'execute' };
    expect(sampleValue(exposition, 'circuit_breaker_calls_total', { ...labels, outcome: 'success' })).to.equal(1);
    expect(sampleValue(exposition, 'circuit_breaker_calls_total', { ...labels, outcome: 'failure' })).to.equal(1);
    // One histogram series per outcome from the start; only the two calls made are counted.
    const counts = Object.fromEntries(
      findSamples(exposition, 'circuit_breaker_call_duration_seconds_count', labels).map((s) => [s.labels.outcome, s.value]),
    );
    expect(counts).to.deep.equal({ success: 1, failure: 1, ignored: 0, rejected: 0, timeout: 0 });
  }

  it('serves metrics and health for a CommonJS app, which then exits by itself with its own code', async () => {
    const { file, port } = await configWithPort();
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'manual-breaker.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port), APP_EXIT_CODE: '3' }),
      timeoutMs: 30_000,
    });
    expect(r.timedOut, 'the app was kept alive').to.equal(false);
    expect(r.code, r.stderr).to.equal(3);
    expectManualReport(lastJsonLine<ManualReport>(r));
  });

  it('serves metrics and health for an ES-module app using real named imports', async () => {
    const { file, port } = await configWithPort();
    const r = await runNode(['--import', REGISTER_ESM, path.join(APPS, 'manual-breaker.mjs')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port), APP_EXIT_CODE: '4' }),
      timeoutMs: 30_000,
    });
    expect(r.timedOut, 'the app was kept alive').to.equal(false);
    expect(r.code, r.stderr).to.equal(4);
    const report = lastJsonLine<ManualReport>(r);
    expect(report.standalone).to.equal('ran');
    expectManualReport(report);
  });

  for (const [flag, app] of [
    ['--require', 'package-name.js'],
    ['--import', 'package-name.mjs'],
  ] as const) {
    it(`works by package name: ${flag} breakerbox/register with the app using 'breakerbox'`, async () => {
      const { file, port } = await configWithPort();
      // Run from the repository, so the name resolves to this package (self-reference).
      const r = await runNode([flag, 'breakerbox/register', path.join(APPS, app)], {
        cwd: REPO,
        env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) }),
      });
      expect(r.code, r.stderr).to.equal(0);
      const report = lastJsonLine<{ sameRegistry: boolean; isBreaker?: boolean; health: HttpAnswer }>(r);
      expect(report.sameRegistry).to.equal(true);
      expect(report.isBreaker ?? true).to.equal(true);
      expect(report.health.status).to.equal(200);
      expect(JSON.parse(report.health.body)).to.include({ name: 'auth', module: 'manual' });
    });
  }

  it('logs one JSON startup line on stderr naming the config, and nothing on stdout', async () => {
    const { file, port } = await configWithPort();
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'busy.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) }),
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('done 45\n');
    const lines = r.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: 'info', logger: 'breakerbox', msg: 'breakerbox started', config: file });
    expect(lines[0].metrics).to.equal(`http://${LOOPBACK}:${port}/metrics`);
    expect(lines[0].health).to.equal(`http://${LOOPBACK}:${port}/health/circuit-breakers`);
    // The file names database and nats only: ws and fs keep their built-in breakers.
    expect(lines[0].guarded).to.deep.equal({ pg: 'database', nats: 'nats', ws: 'websocket', fs: 'file_system' });
    expect(lines[0].unguarded).to.deep.equal({});
  });

  it('says in the startup line which modules are not guarded, and why', async () => {
    const { file, port } = await configWithPort(['  websocket:', '    mode: disabled']);
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'busy.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) }),
    });
    expect(r.code, r.stderr).to.equal(0);
    const line = JSON.parse(r.stderr.trim().split('\n')[0]) as Record<string, unknown>;
    expect(line.guarded).to.deep.equal({ pg: 'database', nats: 'nats', fs: 'file_system' });
    expect(line.unguarded).to.deep.equal({ ws: 'websocket has mode: disabled' });
  });

  it('stops at startup on a breaker name one typo from a module breaker, with a did-you-mean', async () => {
    const file = writeConfig(['circuit_breakers:', '  databse:', '    failure_threshold: 3', ''].join('\n'));
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'busy.js')], { env: cleanEnv({ BREAKERBOX_CONFIG: file }) });
    expect(r.code).to.equal(78);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.include('circuit_breakers.databse: got "databse"').and.include('did you mean "database"?');
    noStackTrace(r.stderr);
  });

  it('does not advertise a /metrics URL with OTEL_SDK_DISABLED=true, and says what is served', async () => {
    const { file, port } = await configWithPort();
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'busy.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, OTEL_SDK_DISABLED: 'true' }),
    });
    expect(r.code, r.stderr).to.equal(0);
    const line = JSON.parse(r.stderr.trim().split('\n')[0]) as Record<string, unknown>;
    expect(line.msg).to.equal('breakerbox started');
    expect(line.health).to.equal(`http://${LOOPBACK}:${port}/health/circuit-breakers`);
    expect(String(line.metrics)).to.not.include('http');
    expect(String(line.metrics)).to.include('OTEL_SDK_DISABLED');
  });

  it('starts once when both --require and --import name the preload', async () => {
    const { file, port } = await configWithPort();
    const r = await runNode(['--require', REGISTER_CJS, '--import', REGISTER_ESM, path.join(APPS, 'busy.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) }),
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('done 45\n');
    expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1);
  });

  it("serves the app's own breakers when another --import registers module hooks next to --require", async () => {
    // Node 20 runs --require preloads in the loader-hooks thread too; only the app's thread
    // may own the monitoring port, or /metrics would describe a thread with no app in it.
    const { file, port } = await configWithPort();
    const r = await runNode(
      ['--require', REGISTER_CJS, '--import', path.join(APPS, 'noop-hooks.mjs'), path.join(APPS, 'manual-breaker.js')],
      {
        env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) }),
      },
    );
    expect(r.code, r.stderr).to.equal(0);
    const report = lastJsonLine<ManualReport>(r);
    expectManualReport(report);
    expect(r.stderr).to.not.include('could not listen');
    // The hooks thread has nothing to report: the app is served as the single process it is.
    expect(report.metrics.body).to.not.include('worker="');
    expect(report.health.body).to.not.include('"worker"');
  });

  for (const [flag, register, app] of [
    ['--require', REGISTER_CJS, 'first-line.js'],
    ['--import', REGISTER_ESM, 'first-line.mjs'],
  ] as const) {
    it(`stops before the app runs when the config is invalid (${flag}), with one message per problem and no stack trace`, async () => {
      const file = writeConfig(
        [
          'circuit_breakers:',
          '  database:',
          '    failure_threshold: -1',
          '    operations: [connect, qurey]',
          '  monitoring:',
          '    port: 99999',
          '',
        ].join('\n'),
      );
      const r = await runNode([flag, register, path.join(APPS, app)], { env: cleanEnv({ BREAKERBOX_CONFIG: file }) });
      expect(r.code).to.not.equal(0);
      expect(r.code).to.not.equal(null);
      expect(r.stdout).to.not.include('APP FIRST LINE');
      expect(r.stderr).to.include(file);
      expect(r.stderr).to.match(/circuit_breakers\.database\.failure_threshold: got -1, expected a whole number from 0 to 1000000/);
      expect(r.stderr).to.match(
        /circuit_breakers\.database\.operations\[1\]: got "qurey", expected one of the pg operations: connect, query/,
      );
      expect(r.stderr).to.match(/circuit_breakers\.monitoring\.port: got 99999, expected a whole number from 1 to 65535/);
      noStackTrace(r.stderr);
    });
  }

  it('refuses a BREAKERBOX_CONFIG that names a missing file before the app runs', async () => {
    const missing = path.join(dir, 'nope.yaml');
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'first-line.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: missing }),
    });
    expect(r.code).to.not.equal(0);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.include('BREAKERBOX_CONFIG').and.include(missing);
    noStackTrace(r.stderr);
  });

  it('patches nothing but keeps health answering 200 with the reason when the config says enabled: false', async () => {
    const { port } = await configWithPort();
    const file = writeConfig(
      [
        'circuit_breakers:',
        '  enabled: false',
        '  database:',
        '    failure_threshold: 3',
        '  file_system:',
        `    paths: ["${dir}/**"]`,
        '  monitoring:',
        `    port: ${port}`,
        `    host: ${LOOPBACK}`,
        '',
      ].join('\n'),
    );
    const probe = path.join(APPS, 'patch-probe.js');
    const env = cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) });
    const bare = await runNode([probe], { env });
    const preloaded = await runNode(['--require', REGISTER_CJS, probe], { env });
    expect(bare.code, bare.stderr).to.equal(0);
    expect(preloaded.code, preloaded.stderr).to.equal(0);
    const report = lastJsonLine<Record<string, unknown>>(preloaded);
    // A readiness probe on /health/circuit-breakers must not take the pods of a rollback out of service.
    expect({ ...report, monitoringListening: false }).to.deep.equal(lastJsonLine(bare));
    expect(report.monitoringListening).to.equal(true);
    expect(preloaded.stderr).to.include('enabled: false');
  });

  it('answers health 200 with the reason, and /metrics 503, when the config says enabled: false', async () => {
    const port = await freePort();
    const file = writeConfig(
      ['circuit_breakers:', '  enabled: false', '  monitoring:', `    port: ${port}`, `    host: ${LOOPBACK}`, ''].join('\n'),
    );
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'manual-breaker.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) }),
    });
    expect(r.code, r.stderr).to.equal(0);
    const report = lastJsonLine<ManualReport>(r);
    expect(report.health.status).to.equal(200);
    expect(JSON.parse(report.health.body))
      .to.include({ status: 'ok', enabled: false })
      .and.have.property('reason')
      .that.includes('circuit_breakers.enabled: false');
    expect(report.metrics.status).to.equal(503);
    const line = JSON.parse(r.stderr.trim().split('\n')[0]) as Record<string, unknown>;
    expect(line.health).to.equal(`http://${LOOPBACK}:${port}/health/circuit-breakers`);
    expect(String(line.metrics)).to.not.include('http');
  });

  it('patches pg when enabled, so the enabled: false comparison above can tell', async () => {
    const { file, port } = await configWithPort();
    const probe = path.join(APPS, 'patch-probe.js');
    const env = cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) });
    const bare = lastJsonLine<Record<string, unknown>>(await runNode([probe], { env }));
    const r = await runNode(['--require', REGISTER_CJS, probe], { env });
    expect(r.code, r.stderr).to.equal(0);
    const preloaded = lastJsonLine<Record<string, unknown>>(r);
    expect(preloaded.pgClientQuery).to.not.equal(bare.pgClientQuery);
    expect(preloaded.monitoringListening).to.equal(true);
  });

  it('warns once and keeps the app running when the monitoring port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, LOOPBACK, resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const file = writeConfig(['circuit_breakers:', '  monitoring:', `    port: ${port}`, `    host: ${LOOPBACK}`, ''].join('\n'));
      const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'busy.js')], { env: cleanEnv({ BREAKERBOX_CONFIG: file }) });
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal('done 45\n');
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).to.have.length(1);
      const warning = JSON.parse(lines[0]) as { level: string; msg: string };
      expect(warning.level).to.equal('warn');
      expect(warning.msg).to.include(String(port)).and.include('EADDRINUSE');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('adds no process listeners unless telemetry is pushed somewhere that needs a flush on exit', async () => {
    const { file, port } = await configWithPort();
    const run = async (extra: Record<string, string>): Promise<Record<string, number>> => {
      const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'process-listeners.js')], {
        env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port), ...extra }),
      });
      expect(r.code, r.stderr).to.equal(0);
      return lastJsonLine<Record<string, number>>(r);
    };
    const bare = await runNode([path.join(APPS, 'process-listeners.js')], { env: cleanEnv({}) });
    expect(await run({})).to.deep.equal(lastJsonLine(bare));
    const pushing = await run({ OTEL_TRACES_EXPORTER: 'console' });
    expect(pushing).to.include({ SIGTERM: 1, SIGINT: 1, uncaughtException: 0, unhandledRejection: 0 });
  });

  it('opens no port when monitoring.enabled is false, and the app runs as usual', async () => {
    const { file, port } = await configWithPort([], ['    enabled: false']);
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'patch-probe.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) }),
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(lastJsonLine<{ monitoringListening: boolean }>(r).monitoringListening).to.equal(false);
  });

  it('wires BREAKERBOX_ADMIN_TOKEN to the admin routes, even with the trailing newline of a secret file', async () => {
    const { file, port } = await configWithPort();
    const app = spawnNode(['--require', REGISTER_CJS, path.join(APPS, 'long-running.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port), BREAKERBOX_ADMIN_TOKEN: 'let-me-in\n' }),
    });
    try {
      await app.waitForLine('ready');
      const base = `http://${LOOPBACK}:${port}`;
      const post = (token: string) =>
        fetch(`${base}/circuit-breakers/auth/close`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect((await (await fetch(`${base}/health/circuit-breakers/auth`)).json()) as object).to.include({ state: 'forced_open' });
      expect((await post('wrong')).status).to.equal(401);
      const res = await post('let-me-in');
      expect(res.status, await res.clone().text()).to.equal(200);
      expect(await res.json()).to.deep.equal({ breaker: 'auth', action: 'close', from: 'forced_open', state: 'closed' });
      const health = await fetch(`${base}/health/circuit-breakers`);
      expect(health.status).to.equal(200);
    } finally {
      await app.kill('SIGKILL');
    }
  });

  it('keeps breakers and health routes with OTEL_SDK_DISABLED=true, and answers 503 on /metrics', async () => {
    const { file, port } = await configWithPort();
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'manual-breaker.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port), OTEL_SDK_DISABLED: 'true' }),
    });
    expect(r.code, r.stderr).to.equal(0);
    const report = lastJsonLine<ManualReport>(r);
    expect(report.health.status).to.equal(200);
    expect(JSON.parse(report.one.body)).to.include({ name: 'auth', consecutiveFailures: 1 });
    const stats = JSON.parse(report.stats.body) as { breakers: { name: string; calls: Record<string, number> }[] };
    expect(stats.breakers.find((b) => b.name === 'auth')?.calls).to.include({ success: 1, failure: 1 });
    expect(report.metrics.status).to.equal(503);
    noStackTrace(report.metrics.body);
  });

  it('takes the monitoring port from OTEL_EXPORTER_PROMETHEUS_PORT when the file has none', async () => {
    const port = await freePort();
    const file = writeConfig(['circuit_breakers:', '  monitoring:', `    host: ${LOOPBACK}`, ''].join('\n'));
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'manual-breaker.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port), OTEL_EXPORTER_PROMETHEUS_PORT: String(port) }),
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(lastJsonLine<ManualReport>(r).one.status).to.equal(200);
  });
});

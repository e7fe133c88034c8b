/**
 * What loading breakerbox costs is part of its contract (DESIGN.md, "Package and entry
 * points"): these tests read the packages a real process has loaded, not timings.
 * Needs `npm run build` first (they run the compiled dist/).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, runNode } from '../helpers/child-process';
import { freePort, LOOPBACK } from '../helpers/free-port';

const REPO = path.resolve(__dirname, '..', '..');
const APPS = path.join(REPO, 'test', 'fixtures', 'apps');
const REGISTER = path.join(REPO, 'dist', 'register.js');
const INDEX = path.join(REPO, 'dist', 'index.js');

/** Packages only an exporter the environment asked for may bring in. */
const PUSH_ONLY = [
  /^@opentelemetry\/sdk-node$/,
  /^@opentelemetry\/sdk-trace/,
  /^@opentelemetry\/sdk-logs$/,
  /^@opentelemetry\/exporter-(metrics|trace|logs)-otlp/,
  /^@opentelemetry\/otlp-/,
  /^@opentelemetry\/exporter-zipkin$/,
  /^@opentelemetry\/context-async-hooks$/,
  /^@grpc\//,
  /^protobufjs$/,
];

async function loaded(args: string[], env: Record<string, string | undefined>): Promise<string[]> {
  const r = await runNode(args, { env: cleanEnv(env) });
  expect(r.code, r.stderr).to.equal(0);
  const lines = r.stdout.trim().split('\n');
  return (JSON.parse(lines[lines.length - 1]) as { packages: string[] }).packages;
}

function matching(packages: string[], patterns: RegExp[]): string[] {
  return packages.filter((p) => patterns.some((re) => re.test(p)));
}

describe('module graph: what loading breakerbox brings into a process', function () {
  this.timeout(60_000);
  let dir: string;
  let config: string;

  before(async () => {
    for (const file of [REGISTER, INDEX, path.join(REPO, 'dist', 'index.mjs')]) {
      if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` before these tests`);
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-graph-'));
    config = path.join(dir, 'breakerbox.yaml');
    // A free port: other suites run preloads at the same time.
    fs.writeFileSync(
      config,
      ['circuit_breakers:', '  monitoring:', `    port: ${await freePort()}`, `    host: ${LOOPBACK}`, '    log_level: warn', ''].join(
        '\n',
      ),
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("require('breakerbox') and a CircuitBreaker load no OpenTelemetry, no YAML parser, no glob matcher: no dependency at all", async () => {
    const packages = await loaded([path.join(APPS, 'loaded-modules.js')], { LOAD_BREAKERBOX: '1' });
    expect(packages).to.deep.equal([]);
  });

  it("require('breakerbox') and a CircuitBreaker build no configuration and no module classifier: they load on first use", async () => {
    const r = await runNode([path.join(APPS, 'loaded-modules.js')], { env: cleanEnv({ LOAD_BREAKERBOX: '1' }) });
    expect(r.code, r.stderr).to.equal(0);
    const { files } = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { files: string[] };
    expect(files).to.include('index.js');
    expect(files.filter((f) => f.startsWith('config/'))).to.have.members(['config/errors.js', 'config/on-demand.js', 'config/schema.js']);
    expect(files.filter((f) => f.startsWith('classify/'))).to.deep.equal([]);
  });

  it("import { CircuitBreaker } from 'breakerbox' (ESM) loads no OpenTelemetry and no YAML parser", async () => {
    const packages = await loaded([path.join(APPS, 'loaded-modules.mjs')], {});
    expect(matching(packages, [/^@opentelemetry\//, /^yaml$/, /-in-the-middle$/])).to.deep.equal([]);
  });

  it('the default preload loads the metrics SDK and Prometheus exporter, and no OTLP, gRPC, protobuf, trace/log SDK or NodeSDK', async () => {
    const packages = await loaded(['--require', REGISTER, path.join(APPS, 'loaded-modules.js')], { BREAKERBOX_CONFIG: config });
    expect(packages).to.include.members(['@opentelemetry/sdk-metrics', '@opentelemetry/exporter-prometheus']);
    expect(matching(packages, PUSH_ONLY)).to.deep.equal([]);
  });

  it('the default preload patches through its own module hooks: no @opentelemetry/instrumentation, no require-in-the-middle', async () => {
    const packages = await loaded(['--require', REGISTER, path.join(APPS, 'loaded-modules.js')], { BREAKERBOX_CONFIG: config });
    expect(matching(packages, [/^@opentelemetry\/instrumentation/, /^@opentelemetry\/api-logs$/, /^require-in-the-middle$/])).to.deep.equal(
      [],
    );
  });

  it('the preload reads a common config file, or none, without the YAML library', async () => {
    const withFile = await loaded(['--require', REGISTER, path.join(APPS, 'loaded-modules.js')], {
      BREAKERBOX_CONFIG: config,
      OTEL_SDK_DISABLED: 'true',
    });
    expect(withFile).to.not.include('yaml');
    const empty = fs.mkdtempSync(path.join(dir, 'cwd-'));
    const r = await runNode(['--require', REGISTER, path.join(APPS, 'loaded-modules.js')], {
      env: cleanEnv({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()) }),
      cwd: empty,
    });
    expect(r.code, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout.trim().split('\n').pop() as string) as { packages: string[] }).packages).to.not.include('yaml');
  });

  it('the default preload runs no ES module in a CommonJS app (the host id is read when an exporter first waits for it)', async () => {
    const r = await runNode(['--require', REGISTER, path.join(APPS, 'loaded-modules.js')], {
      env: cleanEnv({ BREAKERBOX_CONFIG: config, REPORT_AT_EXIT: '1' }),
    });
    expect(r.code, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout.trim().split('\n').pop() as string) as { esModuleRan: boolean }).esModuleRan).to.equal(false);
  });

  it('the preload with OTEL_SDK_DISABLED=true loads no OpenTelemetry SDK or exporter', async () => {
    const packages = await loaded(['--require', REGISTER, path.join(APPS, 'loaded-modules.js')], {
      BREAKERBOX_CONFIG: config,
      OTEL_SDK_DISABLED: 'true',
    });
    expect(matching(packages, [/^@opentelemetry\/sdk-/, /^@opentelemetry\/exporter-/, ...PUSH_ONLY])).to.deep.equal([]);
  });

  it('the preload with OTEL_SDK_DISABLED=true loads no OpenTelemetry package at all, not even the API', async () => {
    const packages = await loaded(['--require', REGISTER, path.join(APPS, 'loaded-modules.js')], {
      BREAKERBOX_CONFIG: config,
      OTEL_SDK_DISABLED: 'true',
    });
    expect(matching(packages, [/^@opentelemetry\//, /^require-in-the-middle$/])).to.deep.equal([]);
  });

  it('the preload with circuit_breakers.enabled: false loads no OpenTelemetry at all', async () => {
    const off = path.join(dir, 'off.yaml');
    fs.writeFileSync(off, 'circuit_breakers:\n  enabled: false\n');
    const packages = await loaded(['--require', REGISTER, path.join(APPS, 'loaded-modules.js')], { BREAKERBOX_CONFIG: off });
    expect(matching(packages, [/^@opentelemetry\//, /-in-the-middle$/])).to.deep.equal([]);
  });

  it('the preload builds the trace pipeline when OTEL_TRACES_EXPORTER asks for it, and exports transition spans', async () => {
    const r = await runNode(['--require', REGISTER, '-e', `require(${JSON.stringify(INDEX)}).registry.get('probe').forceOpen()`], {
      env: cleanEnv({ BREAKERBOX_CONFIG: config, OTEL_TRACES_EXPORTER: 'console' }),
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include("name: 'circuit_breaker.transition'");
  });
});

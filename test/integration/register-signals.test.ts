/**
 * Shutdown and exporting under `--require breakerbox/register`: what a signal does to an app
 * with and without its own handler, and which collectors the app talks to.
 * Needs `npm run build` first.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, type NodeProcess, spawnNode } from '../helpers/child-process';
import { freePort, LOOPBACK } from '../helpers/free-port';

const REPO = path.resolve(__dirname, '..', '..');
const APPS = path.join(REPO, 'test', 'fixtures', 'apps');
const REGISTER_CJS = path.join(REPO, 'dist', 'register.js');

/** A stand-in OTLP/HTTP collector: accepts everything and remembers who came. */
interface Collector {
  readonly endpoint: string;
  readonly connections: number;
  readonly requests: string[];
  close(): Promise<void>;
}

async function startCollector(): Promise<Collector> {
  let connections = 0;
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${LOOPBACK}:${port}`,
    get connections() {
      return connections;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('preload: shutdown on signals and exporters', function () {
  this.timeout(60_000);
  let dir: string;
  let collector: Collector;
  let app: NodeProcess | null = null;

  before(() => {
    if (!fs.existsSync(REGISTER_CJS)) throw new Error(`${REGISTER_CJS} is missing: run \`npm run build\` before these tests`);
  });
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-signals-'));
    collector = await startCollector();
  });
  afterEach(async () => {
    await app?.kill('SIGKILL');
    app = null;
    await collector.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Starts the long-running fixture under the preload and waits until it is serving. */
  async function startService(env: Record<string, string | undefined>): Promise<NodeProcess> {
    const port = await freePort();
    const config = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(
      config,
      ['circuit_breakers:', '  monitoring:', `    port: ${port}`, `    host: ${LOOPBACK}`, '    log_level: silent', ''].join('\n'),
    );
    app = spawnNode(['--require', REGISTER_CJS, path.join(APPS, 'long-running.js')], {
      env: cleanEnv({
        BREAKERBOX_CONFIG: config,
        MONITORING_PORT: String(port),
        // Where an OTLP exporter would send, if one were running: our stand-in collector.
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
        // Exporters would send within 100 ms, so a stray one cannot hide behind a long delay.
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_BLRP_SCHEDULE_DELAY: '100',
        OTEL_METRIC_EXPORT_INTERVAL: '100',
        ...env,
      }),
    });
    await app.waitForLine('ready');
    return app;
  }

  it('ends an app without a SIGTERM handler by SIGTERM, after flushing its spans', async () => {
    // A batch that only a shutdown flush would send: the transition span of the forced open.
    const service = await startService({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_BSP_SCHEDULE_DELAY: '600000' });
    expect(collector.requests).to.deep.equal([]);
    const r = await service.kill('SIGTERM');
    expect(r.signal, r.stderr).to.equal('SIGTERM');
    expect(r.code).to.equal(null);
    expect(collector.requests).to.include('POST /v1/traces');
  });

  it('ends an app without a SIGINT handler by SIGINT', async () => {
    const service = await startService({});
    const r = await service.kill('SIGINT');
    expect(r.signal, r.stderr).to.equal('SIGINT');
  });

  it('leaves an app with its own SIGTERM handler in control: the handler runs and the app decides when to exit', async () => {
    const service = await startService({ APP_HANDLES_SIGTERM: '1', OTEL_TRACES_EXPORTER: 'otlp', OTEL_BSP_SCHEDULE_DELAY: '600000' });
    const r = await service.kill('SIGTERM');
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('app handler ran\n').and.include('app still in control\n');
    expect(collector.requests).to.include('POST /v1/traces');
  });

  it('makes no OTLP connection when no OTEL_*_EXPORTER is set, not even on shutdown', async () => {
    const service = await startService({});
    // Long enough for several export intervals of any exporter that was started by default.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const r = await service.kill('SIGTERM');
    expect(r.signal, r.stderr).to.equal('SIGTERM');
    expect(collector.connections, collector.requests.join(', ')).to.equal(0);
  });

  it('exports metrics over OTLP when OTEL_METRICS_EXPORTER=otlp, next to /metrics', async () => {
    const service = await startService({ OTEL_METRICS_EXPORTER: 'otlp' });
    const r = await service.kill('SIGTERM');
    expect(r.signal, r.stderr).to.equal('SIGTERM');
    expect(collector.requests).to.include('POST /v1/metrics');
  });
});

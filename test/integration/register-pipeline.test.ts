/**
 * The preload's metrics-only pipeline (no NodeSDK) keeps the standard OTEL_* meanings that
 * NodeSDK gave it: the resource on /metrics, and push exporters named in the environment.
 * Needs `npm run build` first.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, runNode, spawnNode } from '../helpers/child-process';
import { freePort, LOOPBACK } from '../helpers/free-port';
import { findSamples, parsePrometheus } from '../helpers/prometheus-text';

const REPO = path.resolve(__dirname, '..', '..');
const APPS = path.join(REPO, 'test', 'fixtures', 'apps');
const REGISTER = path.join(REPO, 'dist', 'register.js');

describe('preload pipeline without NodeSDK: OTEL_* keep their meaning', function () {
  this.timeout(60_000);
  let dir: string;
  let config: string;
  let port: number;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-pipeline-'));
    config = path.join(dir, 'breakerbox.yaml');
    port = await freePort();
    fs.writeFileSync(
      config,
      [
        'circuit_breakers:',
        '  auth:',
        '    failure_threshold: 2',
        '  monitoring:',
        `    port: ${port}`,
        `    host: ${LOOPBACK}`,
        '    log_level: warn',
        '',
      ].join('\n'),
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('puts OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES on /metrics (target_info), with process attributes', async () => {
    const app = spawnNode(['--require', REGISTER, path.join(APPS, 'long-running.js')], {
      env: cleanEnv({
        BREAKERBOX_CONFIG: config,
        MONITORING_PORT: String(port),
        OTEL_SERVICE_NAME: 'checkout',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging',
      }),
    });
    try {
      await app.waitForLine('ready');
      const text = await (await fetch(`http://${LOOPBACK}:${port}/metrics`)).text();
      const [info] = findSamples(parsePrometheus(text), 'target_info');
      expect(info, text).to.not.equal(undefined);
      expect(info.labels).to.include({ service_name: 'checkout', deployment_environment: 'staging' });
      expect(info.labels).to.have.property('process_pid');
      expect(text).to.include('circuit_breaker_state{');
    } finally {
      await app.kill('SIGKILL');
    }
  });

  it('pushes the breaker series with OTEL_METRICS_EXPORTER=console, as NodeSDK did', async () => {
    const r = await runNode(
      ['--require', REGISTER, '-e', "require(process.env.INDEX).registry.get('auth').forceOpen(); setTimeout(() => {}, 1500)"],
      {
        env: cleanEnv({
          BREAKERBOX_CONFIG: config,
          INDEX: path.join(REPO, 'dist', 'index.js'),
          OTEL_METRICS_EXPORTER: 'console',
          OTEL_METRIC_EXPORT_INTERVAL: '200',
        }),
      },
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.include('circuit_breaker_state').and.include('circuit_breaker_call_duration_seconds');
  });
});

/**
 * Apps that start their own NodeSDK add BreakerboxInstrumentation to it and get the health
 * routes from one exported call, startMonitoringServer(). Needs `npm run build` first.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { runNode } from '../helpers/child-process';
import { freePort, LOOPBACK } from '../helpers/free-port';

const REPO = path.resolve(__dirname, '..', '..');
const APP = path.join(REPO, 'test', 'fixtures', 'apps', 'own-sdk.js');

describe('own NodeSDK: startMonitoringServer()', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-own-sdk-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("serves health for the breakers the instrumentation guards, and says /metrics is the app's", async () => {
    const port = await freePort();
    const file = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(file, 'circuit_breakers:\n  database:\n    failure_threshold: 3\n');
    const env: Record<string, string | undefined> = { NODE_OPTIONS: undefined, BREAKERBOX_CONFIG: file, MONITORING_PORT: String(port) };
    for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_')) env[key] = undefined;
    const r = await runNode([APP], { env });
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
      port: number;
      pgPatched: boolean;
      health: { status: number; body: string };
      one: { status: number; body: string };
      metrics: { status: number };
    };
    expect(report.port).to.equal(port);
    expect(report.pgPatched).to.equal(true);
    expect(report.health.status).to.equal(200);
    expect(report.one.status).to.equal(200);
    expect(JSON.parse(report.one.body)).to.include({ name: 'database', module: 'pg', state: 'closed' });
    expect(report.metrics.status).to.equal(503);
    const line = JSON.parse(r.stderr.trim().split('\n')[0]) as Record<string, unknown>;
    expect(line.health).to.equal(`http://${LOOPBACK}:${port}/health/circuit-breakers`);
  });
});

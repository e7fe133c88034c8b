/**
 * An ES-module app (`import { connect } from 'nats'`) started with
 * `node --import <dist>/register.mjs`: the breaker guards it without a code change, and once
 * its nats-server is killed the app's publish throws ECIRCUITOPEN synchronously.
 * Needs `npm run build` (npm test runs it first).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { spawnNode, type NodeProcess } from '../helpers/child-process';
import { freePort } from '../helpers/free-port';
import { requireNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';

const ROOT = path.resolve(__dirname, '..', '..');
const REGISTER = path.join(ROOT, 'dist', 'register.mjs');
const APP = path.join(ROOT, 'test', 'fixtures', 'nats', 'esm-app.mjs');

describe('nats patcher: an ES-module app under --import breakerbox/register', function () {
  this.timeout(60_000);
  let srv: PrivateNats | undefined;
  let app: NodeProcess | undefined;
  let dir: string | undefined;

  before(function () {
    requireNatsServer(this);
    const built = path.join(ROOT, 'dist', 'instrumentation', 'nats.js');
    if (!fs.existsSync(REGISTER) || !fs.existsSync(built)) {
      throw new Error(`${REGISTER} or ${built} is missing: run \`npm run build\` first`);
    }
  });

  after(async () => {
    await app?.kill();
    await srv?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('sees ECIRCUITOPEN from publish once its server is killed, and the health route reports the breaker open', async () => {
    srv = await startPrivateNats();
    const port = await freePort();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-nats-esm-'));
    const config = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(
      config,
      `
circuit_breakers:
  nats:
    failure_threshold: 2
    timeout: 30
    operations: [connect, publish, request, flush]
  monitoring:
    port: ${port}
    host: 127.0.0.1
    log_level: warn
`,
    );
    app = spawnNode(['--import', REGISTER, APP], {
      cwd: dir,
      env: { BREAKERBOX_CONFIG: config, NATS_URL: srv.url, OTEL_TRACES_EXPORTER: undefined, OTEL_LOGS_EXPORTER: undefined },
    });
    const connected = JSON.parse(await app.waitForLine(/"event":"connected"/, 15_000)) as { server: string };
    expect(connected.server).to.equal(`127.0.0.1:${srv.port}`);

    await srv.kill();
    const rejected = JSON.parse(await app.waitForLine(/"event":"rejected"/, 15_000)) as Record<string, unknown>;
    expect(rejected).to.deep.include({ name: 'BreakerOpenError', code: 'ECIRCUITOPEN', breaker: 'nats', state: 'open', sync: true });
    expect(rejected.sent).to.be.a('number').that.is.greaterThan(0);

    const health = await fetch(`http://127.0.0.1:${port}/health/circuit-breakers/nats`);
    expect(health.status).to.equal(503);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).to.match(/circuit_breaker_calls_total\{[^}]*breaker="nats"[^}]*operation="publish"[^}]*outcome="rejected"[^}]*\} 1/);
    // Opened by the client's failed reconnect attempts (three by default), recorded as connection failures.
    const attempts = /circuit_breaker_calls_total\{[^}]*breaker="nats"[^}]*operation="connection"[^}]*outcome="failure"[^}]*\} (\d+)/.exec(
      metrics,
    );
    expect(Number(attempts?.[1])).to.be.at.least(3);
    // The ES-module binding of `connect` reached the guarded static connect.
    expect(metrics).to.match(/circuit_breaker_calls_total\{[^}]*breaker="nats"[^}]*operation="connect"[^}]*outcome="success"[^}]*\} 1/);
  });
});

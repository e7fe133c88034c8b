/**
 * The install path a new user takes: `npm pack` this repository, install the tarball into a
 * scratch app (its registry dependencies from the npm cache or registry), and run the app
 * under `node --require breakerbox/register` against the real Postgres. Needs `npm run build`
 * first (the tarball ships dist/, as a git install builds it with the `prepare` script).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runNode } from '../helpers/child-process';
import { freePort, LOOPBACK } from '../helpers/free-port';
import { postgresAvailable, requireService } from '../helpers/require-services';

const REPO = path.resolve(__dirname, '..', '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function npm(args: string[], cwd: string): string {
  const r = spawnSync(NPM, args, {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
  if (r.error) throw r.error;
  expect(r.status, `npm ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

const APP = `'use strict';
const pg = require('pg');
async function main() {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: process.env.PGUSER || 'postgres', database: 'test' });
  await client.connect();
  const { rows } = await client.query('SELECT 1 AS one');
  await client.end();
  const res = await fetch('http://127.0.0.1:' + process.env.MONITORING_PORT + '/metrics/circuit-breakers');
  const health = (await res.json()).breakers.find((b) => b.name === 'database');
  const breakerbox = require('breakerbox');
  process.stdout.write(JSON.stringify({ rows, health, exports: Object.keys(breakerbox).sort() }) + '\\n');
}
main().catch((err) => { process.stderr.write(String(err && err.stack) + '\\n'); process.exit(99); });
`;

describe('install: npm pack, install into a scratch app, run under --require', function () {
  this.timeout(300_000);
  let dir = '';
  before(requireService('postgres', () => postgresAvailable()));
  before(() => {
    if (!fs.existsSync(path.join(REPO, 'dist', 'register.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-install-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('builds dist/ on git installs: package.json has a prepare script that runs the build', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepare).to.equal('npm run build');
  });

  it('installs from the packed tarball and guards pg with the built-in defaults', async () => {
    // --ignore-scripts: dist/ is built already; packing must not rebuild it under the test.
    const tarball = npm(['pack', '--ignore-scripts', '--pack-destination', dir], REPO).trim().split('\n').pop() ?? '';
    const app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', version: '1.0.0', private: true }));
    fs.writeFileSync(path.join(app, 'app.js'), APP);
    const pgVersion = (JSON.parse(fs.readFileSync(path.join(REPO, 'node_modules', 'pg', 'package.json'), 'utf8')) as { version: string })
      .version;
    npm(['install', '--prefer-offline', '--no-package-lock', path.join(dir, tarball), `pg@${pgVersion}`, '@opentelemetry/api'], app);
    expect(fs.existsSync(path.join(app, 'node_modules', 'breakerbox', 'dist', 'register.js'))).to.equal(true);

    const port = await freePort();
    const env: Record<string, string | undefined> = {
      NODE_OPTIONS: undefined,
      BREAKERBOX_CONFIG: undefined,
      MONITORING_PORT: String(port),
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      OTEL_EXPORTER_PROMETHEUS_HOST: LOOPBACK,
    };
    for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_') && !(key in env)) env[key] = undefined;
    const r = await runNode(['--require', 'breakerbox/register', 'app.js'], { cwd: app, env });
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
      rows: unknown[];
      health: Record<string, unknown>;
      exports: string[];
    };
    expect(report.rows).to.deep.equal([{ one: 1 }]);
    expect(report.health).to.include({ name: 'database', module: 'pg', state: 'closed' });
    expect((report.health.calls as Record<string, number>).success).to.be.at.least(2);
    expect(report.exports).to.include.members(['CircuitBreaker', 'BreakerboxInstrumentation', 'startMonitoringServer', 'registry']);
    const startup = JSON.parse(r.stderr.trim().split('\n')[0]) as Record<string, unknown>;
    expect(startup).to.include({ msg: 'breakerbox started', config: 'built-in defaults' });
  });
});

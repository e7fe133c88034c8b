/**
 * An unmodified pg app under `--require breakerbox/register`, against the shared Postgres
 * (127.0.0.1:5432, database `test`): its queries are counted and served on /metrics.
 * Needs `npm run build` first.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, runNode } from '../helpers/child-process';
import { freePort, LOOPBACK } from '../helpers/free-port';
import { parsePrometheus, sampleValue } from '../helpers/prometheus-text';
import { postgresAvailable, requireService } from '../helpers/require-services';

const REPO = path.resolve(__dirname, '..', '..');
const APPS = path.join(REPO, 'test', 'fixtures', 'apps');
const REGISTER_CJS = path.join(REPO, 'dist', 'register.js');
const REGISTER_ESM = path.join(REPO, 'dist', 'register.mjs');

interface PgReport {
  rows: Record<string, number>[];
  syntax: { code: string; isPgError: boolean } | null;
  health: { status: number; body: string };
  metrics: { status: number; body: string };
}

describe('preload: a pg app against the shared Postgres', function () {
  this.timeout(60_000);
  let dir: string;

  before(requireService('postgres', () => postgresAvailable()));
  before(() => {
    if (!fs.existsSync(REGISTER_CJS)) throw new Error(`${REGISTER_CJS} is missing: run \`npm run build\` before these tests`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-pg-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function writeConfig(): Promise<{ config: string; port: number }> {
    const port = await freePort();
    const config = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(
      config,
      [
        'circuit_breakers:',
        '  database:',
        '    failure_threshold: 3',
        '    timeout: 30',
        '    operations: [connect, query]',
        '  monitoring:',
        `    port: ${port}`,
        `    host: ${LOOPBACK}`,
        '',
      ].join('\n'),
    );
    return { config, port };
  }

  function pgEnv(config: string, port: number): Record<string, string | undefined> {
    return cleanEnv({
      BREAKERBOX_CONFIG: config,
      MONITORING_PORT: String(port),
      PGHOST: '127.0.0.1',
      PGPORT: '5432',
      PGUSER: process.env.PGUSER ?? 'postgres',
      PGDATABASE: process.env.PGDATABASE ?? 'test',
    });
  }

  it("counts the app's queries under the database breaker and serves them on /metrics", async () => {
    const { config, port } = await writeConfig();
    const r = await runNode(['--require', REGISTER_CJS, path.join(APPS, 'pg-queries.js')], { env: pgEnv(config, port) });
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as PgReport;

    // The app sees exactly what pg gives it, errors included.
    expect(report.rows).to.deep.equal([{ one: 1 }, { two: 2 }, { three: 3 }]);
    expect(report.syntax).to.deep.equal({ code: '42601', isPgError: true });

    expect(report.health.status).to.equal(200);
    expect(JSON.parse(report.health.body)).to.include({ name: 'database', module: 'pg', state: 'closed' });

    expect(report.metrics.status).to.equal(200);
    const exposition = parsePrometheus(report.metrics.body);
    const query = { breaker: 'database', module: 'pg', operation: 'query' };
    // Client promise + Client callback + Pool: three queries, each counted once.
    expect(sampleValue(exposition, 'circuit_breaker_calls_total', { ...query, outcome: 'success' })).to.equal(3);
    // A syntax error says nothing about the database being down.
    expect(sampleValue(exposition, 'circuit_breaker_calls_total', { ...query, outcome: 'ignored' })).to.equal(1);
    expect(sampleValue(exposition, 'circuit_breaker_calls_total', { ...query, outcome: 'failure' })).to.equal(0);
    expect(sampleValue(exposition, 'circuit_breaker_call_duration_seconds_count', { ...query, outcome: 'success' })).to.equal(3);
    expect(sampleValue(exposition, 'circuit_breaker_state', { breaker: 'database', state: 'closed' })).to.equal(1);
    expect(r.stdout).to.not.include('SELECT');
    expect(report.metrics.body).to.not.include('SELECT');
  });

  it('guards pg in an ES-module app that imports it, under --import', async () => {
    const { config, port } = await writeConfig();
    const r = await runNode(['--import', REGISTER_ESM, path.join(APPS, 'pg-queries.mjs')], { env: pgEnv(config, port) });
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as Pick<PgReport, 'rows' | 'metrics'>;
    expect(report.rows).to.deep.equal([{ one: 1 }, { two: 2 }]);
    const exposition = parsePrometheus(report.metrics.body);
    const labels = { breaker: 'database', module: 'pg', operation: 'query', outcome: 'success' };
    expect(sampleValue(exposition, 'circuit_breaker_calls_total', labels)).to.equal(2);
  });
});

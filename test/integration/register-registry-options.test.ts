/**
 * registry.get(name, options) under `--require breakerbox/register`, where the preload has
 * already built the configured module breakers: the app's functions must still take effect.
 * Needs `npm run build` first and the shared Postgres.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, runNode } from '../helpers/child-process';
import { freePort, LOOPBACK } from '../helpers/free-port';
import { postgresAvailable, requireService } from '../helpers/require-services';

const REPO = path.resolve(__dirname, '..', '..');
const REGISTER_CJS = path.join(REPO, 'dist', 'register.js');
const APP = path.join(REPO, 'test', 'fixtures', 'apps', 'registry-options.js');

interface Report {
  syntax: { rows?: unknown[]; error?: string };
  state: string;
  afterOpen: { rows?: unknown[]; error?: string };
  seen: { round: number; sql: string; code: string }[];
  disagreement: string | null;
}

describe('preload: registry.get(name, options) on a breaker the preload already built', function () {
  this.timeout(60_000);
  let dir: string;

  before(requireService('postgres', () => postgresAvailable()));
  before(() => {
    if (!fs.existsSync(REGISTER_CJS)) throw new Error(`${REGISTER_CJS} is missing: run \`npm run build\` before these tests`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-registry-'));
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run(): Promise<{ report: Report; stderr: string; config: string }> {
    const config = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(
      config,
      [
        'circuit_breakers:',
        '  database:',
        '    failure_threshold: 1',
        '    timeout: 30',
        '  monitoring:',
        `    port: ${await freePort()}`,
        `    host: ${LOOPBACK}`,
        '    log_level: debug',
        '',
      ].join('\n'),
    );
    const r = await runNode(['--require', REGISTER_CJS, APP], {
      env: cleanEnv({
        BREAKERBOX_CONFIG: config,
        PGHOST: '127.0.0.1',
        PGPORT: '5432',
        PGUSER: process.env.PGUSER ?? 'postgres',
        PGDATABASE: process.env.PGDATABASE ?? 'test',
      }),
    });
    expect(r.code, r.stderr).to.equal(0);
    return { report: JSON.parse(r.stdout.trim().split('\n').pop()!) as Report, stderr: r.stderr, config };
  }

  it('uses the isFailure and fallback the app passes, the last ones given winning', async () => {
    const { report } = await run();
    // The app's isFailure counts the syntax error, which opens the breaker (threshold 1), and
    // the app's fallback answers both the counted failure and the rejection that follows.
    expect(report.syntax).to.deep.equal({ rows: [{ answeredBy: 'fallback 3' }] });
    expect(report.state).to.equal('open');
    expect(report.afterOpen).to.deep.equal({ rows: [{ answeredBy: 'fallback 3' }] });
    expect(report.seen).to.deep.equal([
      { round: 3, sql: 'SELEC 1', code: '42601' },
      { round: 3, sql: 'SELECT 1 AS one', code: 'ECIRCUITOPEN' },
    ]);
  });

  it('logs each replaced function once, at debug', async () => {
    const { stderr } = await run();
    const lines = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const replaced = lines.filter((l) => l.level === 'debug' && l.breaker === 'database' && typeof l.option === 'string');
    expect(replaced.map((l) => l.option).sort()).to.deep.equal(['fallback', 'isFailure']);
  });

  it('refuses a number from code that disagrees with the file, naming both values', async () => {
    const { report, config } = await run();
    expect(report.disagreement).to.be.a('string');
    expect(report.disagreement).to.contain('failureThreshold').and.to.contain('10');
    expect(report.disagreement).to.contain('failure_threshold').and.to.contain('1').and.to.contain(config);
  });
});

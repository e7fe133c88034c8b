/**
 * An app that starts its own NodeSDK with @opentelemetry/instrumentation-pg and adds
 * BreakerboxInstrumentation next to it: both keep working on the same pg calls.
 * Runs the app as a child process so each run has a fresh module cache and fresh globals.
 * Needs `npm run build` first and the shared Postgres.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, runNode } from '../helpers/child-process';
import { postgresAvailable, requireService } from '../helpers/require-services';

const REPO = path.resolve(__dirname, '..', '..');
const APP = path.join(REPO, 'test', 'fixtures', 'apps', 'coexistence-pg.js');

interface Rejection {
  code: string;
  name: string;
  breaker: string;
}

interface CoexistenceReport {
  closed: { promise: unknown; callback: unknown; pool: unknown };
  open: { promise: Rejection | string; callback: Rejection | Record<string, number>; pool: Rejection | string };
  reclosed: unknown;
  countsClosed: Record<string, number> | null;
  countsOpen: Record<string, number> | null;
  spans: { name: string; status: number; statement: string | null; system: string | null }[];
}

describe("coexistence: the app's own NodeSDK with instrumentation-pg and BreakerboxInstrumentation", function () {
  this.timeout(60_000);
  let dir: string;

  before(requireService('postgres', () => postgresAvailable()));
  before(() => {
    if (!fs.existsSync(path.join(REPO, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` before these tests');
    try {
      require.resolve('@opentelemetry/instrumentation-pg');
    } catch {
      throw new Error('@opentelemetry/instrumentation-pg is not installed (a devDependency): run `npm install`');
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-coexist-'));
    fs.writeFileSync(path.join(dir, 'breakerbox.yaml'), 'circuit_breakers:\n  database:\n    failure_threshold: 5\n    timeout: 30\n');
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const order of ['pg-first', 'breakerbox-first']) {
    describe(`instrumentations listed ${order}`, () => {
      let report: CoexistenceReport;

      before(async () => {
        const r = await runNode([APP], {
          env: cleanEnv({
            ORDER: order,
            BREAKERBOX_CONFIG: path.join(dir, 'breakerbox.yaml'),
            PGHOST: '127.0.0.1',
            PGPORT: '5432',
            PGUSER: process.env.PGUSER ?? 'postgres',
            PGDATABASE: process.env.PGDATABASE ?? 'test',
          }),
        });
        expect(r.code, `the app crashed or failed:\n${r.stderr}`).to.equal(0);
        report = JSON.parse(r.stdout.trim().split('\n').pop()!) as CoexistenceReport;
      });

      it('answers queries as pg does, with a pg span for each one and each counted by the breaker', () => {
        expect(report.closed).to.deep.equal({ promise: { one: 1 }, callback: { two: 2 }, pool: { three: 3 } });
        const statements = report.spans.filter((s) => s.system === 'postgresql' && s.statement !== null).map((s) => s.statement);
        expect(statements).to.include.members(['SELECT 1 AS one', 'SELECT 2 AS two', 'SELECT 3 AS three']);
        expect(report.spans.some((s) => s.name === 'pg.connect')).to.equal(true);
        expect(report.countsClosed).to.deep.equal({ success: 3, failure: 0, ignored: 0, rejected: 0 });
      });

      it('rejects every call form with ECIRCUITOPEN once the breaker is forced open', () => {
        const rejection = { code: 'ECIRCUITOPEN', name: 'BreakerOpenError', breaker: 'database' };
        expect(report.open).to.deep.equal({ promise: rejection, callback: rejection, pool: rejection });
        expect(report.countsOpen).to.deep.equal({ success: 3, failure: 0, ignored: 0, rejected: 3 });
      });

      it('keeps the pg instrumentation working through and after the rejections', () => {
        expect(report.reclosed).to.deep.equal({ seven: 7 });
        expect(report.spans.map((s) => s.statement)).to.include('SELECT 7 AS seven');
        // A refused call never reached pg: no span claims it succeeded.
        for (const s of report.spans.filter((x) => ['SELECT 4', 'SELECT 5', 'SELECT 6'].includes(x.statement ?? ''))) {
          expect(s.status, s.statement!).to.equal(2);
        }
      });
    });
  }
});

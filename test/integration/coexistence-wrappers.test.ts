/**
 * breakerbox next to the contrib instrumentations that wrap the same functions
 * (instrumentation-pg on pg, instrumentation-http on http.request under ws), in both
 * orders: breakerbox still observes ws connects and guards pg, and its disable() leaves the
 * other wrappers working. Runs the app as a child process (fresh module cache each time).
 * Needs `npm run build` first and the shared Postgres.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, runNode } from '../helpers/child-process';
import { postgresAvailable, requireService } from '../helpers/require-services';

const REPO = path.resolve(__dirname, '..', '..');
const APP = path.join(REPO, 'test', 'fixtures', 'apps', 'coexistence-wrappers.js');

interface Report {
  before: { outermost: { pgQuery: string; httpRequest: string }; first: string; second: string; peerRequests: number; query: unknown };
  after: { connect: string; peerRequests: number; query: unknown };
  spansBefore: { http: number; pg: string[] };
  spansAfter: { http: number; pg: string[] };
  reenabled: { outermost: { pgQuery: string; httpRequest: string }; query: unknown };
  disabledAgain: { query: unknown };
  spansDisabledAgain: { pg: string[] };
}

describe("coexistence: contrib wrappers above and below breakerbox's", function () {
  this.timeout(60_000);
  let dir: string;

  before(requireService('postgres', () => postgresAvailable()));
  before(() => {
    if (!fs.existsSync(path.join(REPO, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` before these tests');
    for (const pkg of ['@opentelemetry/instrumentation-pg', '@opentelemetry/instrumentation-http']) {
      try {
        require.resolve(pkg);
      } catch {
        throw new Error(`${pkg} is not installed (a devDependency): run \`npm install\``);
      }
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-wrappers-'));
    fs.writeFileSync(
      path.join(dir, 'breakerbox.yaml'),
      [
        'circuit_breakers:',
        '  database:',
        '    failure_threshold: 5',
        '  websocket:',
        '    failure_threshold: 1',
        '    timeout: 30',
        '',
      ].join('\n'),
    );
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const order of ['theirs-first', 'breakerbox-first']) {
    describe(`wrapped ${order}`, () => {
      let report: Report;

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
        report = JSON.parse(r.stdout.trim().split('\n').pop()!) as Report;
      });

      it('runs with the wrappers in the order it claims', () => {
        expect(report.before.outermost.httpRequest).to.equal(order === 'theirs-first' ? 'breakerbox' : 'theirs');
        // instrumentation-pg's hooks patch pg after ours whatever the order; enabling
        // breakerbox again below puts ours on top, so both orders are covered for pg too.
        expect(report.before.outermost.pgQuery).to.equal('theirs');
        expect(report.reenabled.outermost.pgQuery).to.equal('breakerbox');
      });

      it('observes ws connect outcomes through http.request: a 502 opens the breaker and the next connect is refused without a request', () => {
        expect(report.before.first).to.match(/Unexpected server response: 502/);
        expect(report.before.second).to.equal('ECIRCUITOPEN');
        expect(report.before.peerRequests).to.equal(1);
        expect(report.before.query).to.deep.equal({ one: 1 });
        expect(report.spansBefore.http, 'instrumentation-http traced the handshake').to.be.at.least(1);
        expect(report.spansBefore.pg).to.include('SELECT 1 AS one');
      });

      it('leaves the other instrumentations working after breakerbox is disabled, and breakerbox out of the way', () => {
        expect(report.after.connect).to.match(/Unexpected server response: 502/);
        expect(report.after.peerRequests).to.equal(2);
        expect(report.after.query).to.deep.equal({ two: 2 });
        expect(report.spansAfter.http, 'instrumentation-http still traces the handshake').to.equal(1);
      });

      it('guards pg again once enabled on top, and comes off cleanly from on top too', () => {
        expect(report.reenabled.query).to.equal('ECIRCUITOPEN');
        expect(report.disabledAgain.query).to.deep.equal({ four: 4 });
        expect(report.spansDisabledAgain.pg).to.deep.equal(report.spansBefore.pg.map(() => 'SELECT 4 AS four'));
        // instrumentation-pg traces each query as before (it wraps pg in more than one place).
        expect(report.spansAfter.pg, 'instrumentation-pg still traces the query').to.deep.equal(
          report.spansBefore.pg.map(() => 'SELECT 2 AS two'),
        );
      });
    });
  }
});

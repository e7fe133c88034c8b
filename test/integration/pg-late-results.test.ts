/**
 * call_timeout on pg connects: what completes after the caller got ECIRCUITTIMEOUT is
 * disposed of the way pg wants, so nothing leaks. A pool client goes back to the pool (a
 * max: 1 pool keeps serving and the app exits); a Client that finally connects is ended, so
 * no backend is left behind in pg_stat_activity.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { cleanEnv, runNode } from '../helpers/child-process';
import { eventually } from '../helpers/eventually';
import { freePort, LOOPBACK } from '../helpers/free-port';
import type { TcpFaultProxy } from '../helpers/tcp-fault-proxy';
import { pgThroughProxy, rejectionOf, SHARED_PG } from './pg-harness';

const REPO = path.resolve(__dirname, '..', '..');
const REGISTER_CJS = path.join(REPO, 'dist', 'register.js');

/** Backends the shared server has for one application_name, asked through an unguarded connection. */
async function backends(applicationName: string): Promise<number> {
  const observer = new pg.Client(SHARED_PG);
  await observer.connect();
  try {
    const r = await observer.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    return (r.rows[0] as { n: number }).n;
  } finally {
    await observer.end();
  }
}

describe('pg patcher: results that arrive after ECIRCUITTIMEOUT', function () {
  this.timeout(30_000);
  let proxy: TcpFaultProxy;
  const made = pgThroughProxy(
    `
circuit_breakers:
  database:
    failure_threshold: 10
    call_timeout: 300ms
    operations: [connect, query]
`,
    (p) => ({ proxy } = p),
  );

  it('ends a Client whose connect completes late behind a slow network: no backend is left open', async () => {
    const applicationName = `breakerbox-late-connect-${process.pid}-${Date.now()}`;
    const client = made.client({ ...SHARED_PG, host: proxy.host, port: proxy.port, application_name: applicationName });
    let ended = false;
    client.on('end', () => {
      ended = true;
    });
    // The network holds every byte, then delivers them late (a healed stall).
    await proxy.setMode('blackhole');
    const err = await rejectionOf(client.connect());
    expect(err.code).to.equal('ECIRCUITTIMEOUT');
    await proxy.setMode('pass');
    await eventually('the late client to be ended', 10_000, async () => (ended ? true : undefined));
    await eventually('no backend for the late client', 10_000, async () => ((await backends(applicationName)) === 0 ? true : undefined));
  });

  it('gives a late pool client back to the pool (promise form): a max: 1 pool keeps serving', async () => {
    const pool = made.pool({ ...SHARED_PG, max: 1 });
    const held = await pool.connect();
    expect((await rejectionOf(pool.connect())).code).to.equal('ECIRCUITTIMEOUT');
    held.release();
    for (let i = 0; i < 3; i++) expect((await pool.query('SELECT $1::int AS n', [i])).rows).to.deep.equal([{ n: i }]);
    expect({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }).to.deep.equal({ total: 1, idle: 1, waiting: 0 });
  });

  it('gives a late pool client back to the pool (callback form)', async () => {
    const pool = made.pool({ ...SHARED_PG, max: 1 });
    const held = await pool.connect();
    const calls: unknown[][] = [];
    await new Promise<void>((resolve) => {
      pool.connect((...args: unknown[]) => {
        calls.push(args);
        resolve();
      });
    });
    expect((calls[0][0] as { code?: string }).code).to.equal('ECIRCUITTIMEOUT');
    held.release();
    expect((await pool.query('SELECT 1 AS ok')).rows).to.deep.equal([{ ok: 1 }]);
    expect(calls).to.have.length(1);
    expect(pool.idleCount).to.equal(1);
  });

  it('under --require breakerbox/register, the wedge scenario keeps serving and the process exits', async function () {
    if (!fs.existsSync(REGISTER_CJS)) throw new Error(`${REGISTER_CJS} is missing: run \`npm run build\` before these tests`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-wedge-'));
    try {
      const config = path.join(dir, 'breakerbox.yaml');
      fs.writeFileSync(
        config,
        [
          'circuit_breakers:',
          '  database:',
          '    failure_threshold: 10',
          '    call_timeout: 300ms',
          '    operations: [connect, query]',
          '  monitoring:',
          `    port: ${await freePort()}`,
          `    host: ${LOOPBACK}`,
          '',
        ].join('\n'),
      );
      const r = await runNode(['--require', REGISTER_CJS, path.join(REPO, 'test', 'fixtures', 'apps', 'pg-pool-wedge.js')], {
        env: cleanEnv({
          BREAKERBOX_CONFIG: config,
          PGHOST: SHARED_PG.host,
          PGPORT: String(SHARED_PG.port),
          PGUSER: SHARED_PG.user,
          PGDATABASE: SHARED_PG.database,
        }),
        timeoutMs: 15_000,
      });
      expect(r.timedOut, `the app never exited\n${r.stdout}\n${r.stderr}`).to.equal(false);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).to.deep.equal({
        second: 'ECIRCUITTIMEOUT',
        after: [0, 1, 2],
        counts: { total: 1, idle: 1, waiting: 0 },
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

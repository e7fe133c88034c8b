/**
 * Fleet recovery with real processes: three instances under `--require breakerbox/register`,
 * real pg calls to Postgres through our TCP fault proxy, a private nats-server. Two busy
 * instances open on their own failures, the idle one through the fleet; when Postgres is back,
 * the fleet's one trial succeeds and the idle instance closes without a call of its own, while
 * the busy ones (opened on their own evidence) close on their own trials.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { spawnNode, type NodeProcess } from '../helpers/child-process';
import { requireNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';
import { postgresAvailable, requireService } from '../helpers/require-services';
import { startTcpFaultProxy, type TcpFaultProxy } from '../helpers/tcp-fault-proxy';
import { SHARED_PG } from './pg-harness';

const REPO = path.resolve(__dirname, '..', '..');
const REGISTER_CJS = path.join(REPO, 'dist', 'register.js');
const APP = path.join(REPO, 'test', 'fixtures', 'apps', 'fleet-pg-member.js');

function yaml(url: string): string {
  return `
circuit_breakers:
  database:
    failure_threshold: 1
    timeout: 1s
    max_timeout: 1s
  monitoring:
    enabled: false
    log_level: error
  fleet:
    enabled: true
    url: ${url}
    name: recovery
    quorum: 2
    heartbeat: 200ms
`;
}

interface Line {
  ev: string;
  ok?: boolean;
  to?: string;
  reason?: string;
  members?: number;
}

function lines(p: NodeProcess): Line[] {
  return p.stdoutLines.flatMap((l) => {
    try {
      return [JSON.parse(l) as Line];
    } catch {
      return [];
    }
  });
}

const transitions = (p: NodeProcess) =>
  lines(p)
    .filter((l) => l.ev === 'transition')
    .map((l) => `${l.to}:${l.reason}`);

describe('fleet recovery with real processes and real Postgres', function () {
  let nats: PrivateNats;
  let proxy: TcpFaultProxy;
  let dir: string;
  const procs: NodeProcess[] = [];

  before(requireService('postgres', postgresAvailable));
  before(async function () {
    requireNatsServer(this);
    nats = await startPrivateNats();
    proxy = await startTcpFaultProxy({ targetPort: SHARED_PG.port });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-fleet-recovery-'));
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await proxy?.close();
    await nats?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the idle instance the fleet opened closes on the fleet trial without a call; the busy ones close on their own trials', async () => {
    const file = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(file, yaml(nats.url));
    const start = (every: number) =>
      spawnNode(['--require', REGISTER_CJS, APP], {
        env: {
          BREAKERBOX_CONFIG: file,
          CALL_EVERY_MS: String(every),
          PGHOST: proxy.host,
          PGPORT: String(proxy.port),
          PGUSER: SHARED_PG.user,
          PGDATABASE: SHARED_PG.database,
          PGPASSWORD: undefined,
          NODE_OPTIONS: undefined,
          OTEL_TRACES_EXPORTER: undefined,
        },
        timeoutMs: 60_000,
      });
    const [a, b, idle] = [start(50), start(50), start(0)];
    procs.push(a, b, idle);
    await Promise.all([a, b, idle].map((p) => p.waitForLine('"members":3', 15_000)));
    await Promise.all([a, b].map((p) => p.waitForLine('"ok":true', 10_000)));

    await proxy.setMode('reset');
    await idle.waitForLine('"to":"open"', 10_000);
    expect(transitions(idle)).to.deep.equal(['open:fleet']);
    await Promise.all([a, b].map((p) => p.waitForLine('"to":"open","reason":"failure_threshold"', 10_000)));

    await proxy.setMode('pass');
    await idle.waitForLine('"to":"closed"', 10_000);
    await Promise.all([a, b].map((p) => p.waitForLine('"to":"closed"', 10_000)));
    expect(transitions(idle), 'closed by the fleet trial, never half-open').to.deep.equal(['open:fleet', 'closed:fleet']);
    expect(
      lines(idle).filter((l) => l.ev === 'call'),
      'the idle instance made no call',
    ).to.deep.equal([]);
    // The busy ones opened on their own evidence: each closed on a trial of its own.
    for (const p of [a, b]) expect(transitions(p).at(-1)).to.equal('closed:trial_succeeded');
  });
});

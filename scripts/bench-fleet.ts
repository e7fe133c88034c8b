/**
 * `npm run bench:fleet`: what fleet mode changes in an outage, with real processes.
 *
 * Eight instances under `--require dist/register.js` (2 busy: a call every 100 ms; 6 idle: a
 * call every 3 s), each call a fresh pg.Client against a private Postgres behind our TCP
 * fault proxy, which counts the connections that reach it; a private nats-server for the
 * fleet; the database breaker with `failure_threshold: 3`, `timeout: 2s`. 20 s into the run
 * the proxy resets every connection for 20 s (the outage), then passes again. The same run
 * is made without and with fleet mode, then with fleet mode and nats-server killed during the
 * outage and restarted (guarded-call latency beside the run with NATS up; how soon every member
 * sees the whole fleet again). A last run has no outage, but one busy instance reaches Postgres
 * through a refusing proxy of its own: a bad path of its own, which must open nobody else.
 * Prints numbers, asserts nothing.
 *
 *   npm run bench:fleet        (needs the Postgres server binaries and nats-server)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnNode, type NodeProcess } from '../test/helpers/child-process';
import { startPrivateNats, type PrivateNats } from '../test/helpers/private-nats';
import { startPrivatePostgres } from '../test/helpers/private-postgres';
import { startTcpFaultProxy, type TcpFaultProxy } from '../test/helpers/tcp-fault-proxy';

const ROOT = path.join(__dirname, '..');
const REGISTER = path.join(ROOT, 'dist', 'register.js');
const INSTANCE = path.join(__dirname, 'bench-fleet', 'instance.js');
const BUSY = 2;
const IDLE = 6;
const BUSY_EVERY_MS = 100;
const IDLE_EVERY_MS = 3000;
const RESET_PERIOD_MS = 2000;
const WARMUP_MS = 5_000;
const OUTAGE_MS = 20_000;
const RECOVERY_MS = 12_000;
/** nats-server is killed this long into the outage, and started again NATS_DOWN_MS later. */
const NATS_KILL_AT_MS = 6_000;
const NATS_DOWN_MS = 6_000;
const BROKEN_PATH_MS = 15_000;

interface Line {
  t: number;
  ev: 'ready' | 'call' | 'transition' | 'fleet';
  ok?: boolean;
  ms?: number;
  members?: number;
  code?: string;
  from?: string;
  to?: string;
  reason?: string;
}

interface RunResult {
  attempts: number;
  steadyAttemptsPerPeriod: number;
  idleFailedCalls: number;
  /** Of those, made before the quorum was reached (nothing fleet mode can spare). */
  idleFailedBeforeQuorum: number;
  busyFailedCalls: number;
  idleOpenedAfterQuorumMs: number[];
  idleOpenReasons: string[];
  closedAfterRecoveryMs: { busy: number[]; idle: number[] };
  /** Idle instances letting calls through again (half-open or closed) after Postgres returned. */
  idleAcceptingAfterRecoveryMs: number[];
  /** Guarded calls' p99 (ms) over the outage, and over the window NATS is down in the kill run. */
  p99OutageMs: number;
  p99NatsWindowMs: number;
  /** Idle instances' failed user calls from the kill to NATS_DOWN_MS + 3 heartbeats later (the fleet out of reach). */
  idleFailedNatsWindow: number;
  /** Kill run only: per instance, from nats-server accepting clients again to seeing all 8 members. */
  rejoinedMs: number[] | null;
}

function p99(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
}

function configYaml(natsUrl: string, fleet: boolean, name: string): string {
  return `circuit_breakers:
  database:
    failure_threshold: 3
    timeout: 2s
    max_timeout: 2s
  monitoring:
    enabled: false
    log_level: error
  fleet:
    enabled: ${fleet}
    url: ${natsUrl}
    name: ${name}
    quorum: 2
    heartbeat: 1s
    breakers: [database]
`;
}

function lines(p: NodeProcess, since = 0, until = Infinity): Line[] {
  const out: Line[] = [];
  for (const raw of p.stdoutLines) {
    try {
      const l = JSON.parse(raw) as Line;
      if (l.t >= since && l.t <= until) out.push(l);
    } catch {
      // not ours
    }
  }
  return out;
}

function startFleet(
  configFile: string,
  pgEnv: Record<string, string | undefined>,
  ownPgPort?: number,
): { p: NodeProcess; busy: boolean }[] {
  const procs: { p: NodeProcess; busy: boolean }[] = [];
  for (let i = 0; i < BUSY + IDLE; i++) {
    const busy = i < BUSY;
    // The first instance may reach Postgres through a proxy of its own (the broken-path run).
    const env = i === 0 && ownPgPort !== undefined ? { ...pgEnv, PGPORT: String(ownPgPort) } : pgEnv;
    const p = spawnNode(['--require', REGISTER, INSTANCE], {
      env: {
        ...env,
        BREAKERBOX_CONFIG: configFile,
        CALL_EVERY_MS: String(busy ? BUSY_EVERY_MS : IDLE_EVERY_MS),
        NODE_OPTIONS: undefined,
        OTEL_TRACES_EXPORTER: undefined,
      },
      timeoutMs: 300_000,
    });
    procs.push({ p, busy });
  }
  return procs;
}

async function run(
  proxy: TcpFaultProxy,
  nats: PrivateNats,
  pgEnv: Record<string, string | undefined>,
  fleet: boolean,
  dir: string,
  killNats = false,
): Promise<RunResult> {
  const configFile = path.join(dir, `breakerbox-${fleet ? 'fleet' : 'alone'}${killNats ? '-kill' : ''}.yaml`);
  fs.writeFileSync(configFile, configYaml(nats.url, fleet, `bench${Date.now()}`));
  const procs = startFleet(configFile, pgEnv);
  try {
    await Promise.all(procs.map(({ p }) => p.waitForLine(/"ready"/, 30_000)));
    await sleep(WARMUP_MS);

    const outageAt = Date.now();
    const before = proxy.accepted;
    await proxy.setMode('reset');
    const marks: { t: number; accepted: number }[] = [];
    const sampler = setInterval(() => marks.push({ t: Date.now(), accepted: proxy.accepted }), 100);
    let natsBackAt = NaN;
    if (killNats) {
      await sleep(NATS_KILL_AT_MS);
      await nats.kill('SIGKILL');
      await sleep(NATS_DOWN_MS);
      await nats.start();
      natsBackAt = Date.now();
      await sleep(Math.max(0, outageAt + OUTAGE_MS - Date.now()));
    } else {
      await sleep(OUTAGE_MS);
    }
    clearInterval(sampler);
    const recoveredAt = Date.now();
    const attempts = proxy.accepted - before;
    await proxy.setMode('pass');
    await sleep(RECOVERY_MS);

    const opens = (p: NodeProcess) =>
      lines(p, outageAt, recoveredAt).filter((l) => l.ev === 'transition' && l.from === 'closed' && l.to === 'open');
    // Quorum: the second instance to open on its own evidence (without fleet mode: when all were open).
    const ownOpens = procs
      .flatMap(({ p }) =>
        opens(p)
          .filter((l) => l.reason !== 'fleet')
          .slice(0, 1)
          .map((l) => l.t),
      )
      .sort((a, b) => a - b);
    const quorumAt = ownOpens[1] ?? outageAt;
    // Steady state: from when every instance had opened once (or 4 s in), to the end of the outage.
    const allOpenAt = Math.max(quorumAt, ...procs.map(({ p }) => opens(p)[0]?.t ?? outageAt + 4000));
    const steadyFrom = Math.min(allOpenAt, recoveredAt - 2 * RESET_PERIOD_MS);
    const fromMark = marks.find((m) => m.t >= steadyFrom) ?? marks[marks.length - 1];
    const steadyAttempts = attempts - (fromMark.accepted - before);
    const steadyPeriods = (recoveredAt - fromMark.t) / RESET_PERIOD_MS;

    const failed = (p: NodeProcess, until = recoveredAt, from = outageAt) =>
      lines(p, from, until).filter((l) => l.ev === 'call' && !l.ok && l.code !== 'ECIRCUITOPEN').length;
    const closedAfter = (p: NodeProcess) => {
      const closed = lines(p, recoveredAt).find((l) => l.ev === 'transition' && l.to === 'closed');
      return closed ? closed.t - recoveredAt : NaN;
    };
    const idle = procs.filter((x) => !x.busy);
    const busy = procs.filter((x) => x.busy);
    const callMs = (from: number, to: number) =>
      procs.flatMap(({ p }) =>
        lines(p, from, to)
          .filter((l) => l.ev === 'call' && l.ms !== undefined)
          .map((l) => l.ms!),
      );
    const accepting = (p: NodeProcess) => {
      const back = lines(p, recoveredAt).find((l) => l.ev === 'transition' && (l.to === 'closed' || l.to === 'half_open'));
      return back ? back.t - recoveredAt : NaN;
    };
    const rejoined = (p: NodeProcess) => {
      const all = lines(p, natsBackAt).find((l) => l.ev === 'fleet' && l.members === BUSY + IDLE);
      return all ? all.t - natsBackAt : NaN;
    };
    return {
      attempts,
      steadyAttemptsPerPeriod: steadyAttempts / steadyPeriods,
      idleFailedCalls: idle.reduce((n, { p }) => n + failed(p), 0),
      idleFailedBeforeQuorum: idle.reduce((n, { p }) => n + failed(p, quorumAt), 0),
      busyFailedCalls: busy.reduce((n, { p }) => n + failed(p), 0),
      idleOpenedAfterQuorumMs: idle.map(({ p }) => (opens(p)[0]?.t ?? NaN) - quorumAt),
      idleOpenReasons: idle.map(({ p }) => opens(p)[0]?.reason ?? 'stayed closed'),
      closedAfterRecoveryMs: { busy: busy.map(({ p }) => closedAfter(p)), idle: idle.map(({ p }) => closedAfter(p)) },
      idleAcceptingAfterRecoveryMs: idle.map(({ p }) => accepting(p)),
      p99OutageMs: p99(callMs(outageAt, recoveredAt)),
      p99NatsWindowMs: p99(callMs(outageAt + NATS_KILL_AT_MS, outageAt + NATS_KILL_AT_MS + NATS_DOWN_MS)),
      idleFailedNatsWindow: idle.reduce(
        (n, { p }) => n + failed(p, outageAt + NATS_KILL_AT_MS + NATS_DOWN_MS + 3000, outageAt + NATS_KILL_AT_MS),
        0,
      ),
      rejoinedMs: killNats ? procs.map(({ p }) => rejoined(p)) : null,
    };
  } finally {
    await Promise.all(procs.map(({ p }) => p.kill('SIGKILL')));
  }
}

function summary(label: string, r: RunResult): string {
  const ms = (xs: number[]) => xs.map((x) => (Number.isNaN(x) ? 'never' : `${Math.round(x)}`)).join(', ');
  return [
    `${label}`,
    `  connections reaching Postgres during the ${OUTAGE_MS / 1000} s outage: ${r.attempts}`,
    `  steady state (every instance open): ${r.steadyAttemptsPerPeriod.toFixed(2)} per reset period (${RESET_PERIOD_MS / 1000} s) for the fleet`,
    `  failed user calls (not refusals): idle instances ${r.idleFailedCalls} (${r.idleFailedBeforeQuorum} before the second own opening), busy instances ${r.busyFailedCalls}`,
    `  idle instances opened (ms after the second own opening): ${ms(r.idleOpenedAfterQuorumMs)}`,
    `  idle instances' opening reasons: ${r.idleOpenReasons.join(', ')}`,
    `  closed after Postgres returned (ms): busy ${ms(r.closedAfterRecoveryMs.busy)}; idle ${ms(r.closedAfterRecoveryMs.idle)}`,
    `  idle instances letting calls through again (half-open or closed) after Postgres returned (ms): ${ms(r.idleAcceptingAfterRecoveryMs)}`,
    `  guarded calls' p99: ${r.p99OutageMs.toFixed(3)} ms over the outage, ${r.p99NatsWindowMs.toFixed(3)} ms from ${NATS_KILL_AT_MS / 1000} to ${(NATS_KILL_AT_MS + NATS_DOWN_MS) / 1000} s into it`,
    ...(r.rejoinedMs === null
      ? []
      : [`  idle instances' failed user calls from the kill until 3 s after NATS returned: ${r.idleFailedNatsWindow}`]),
    ...(r.rejoinedMs === null
      ? []
      : [`  every member sees all ${BUSY + IDLE} again (ms after nats-server accepts clients): ${ms(r.rejoinedMs)}`]),
  ].join('\n');
}

/** No outage: one busy instance reaches Postgres through a refusing proxy of its own. */
async function brokenPath(nats: PrivateNats, pgEnv: Record<string, string | undefined>, targetPort: number, dir: string): Promise<string> {
  const own = await startTcpFaultProxy({ targetPort });
  const configFile = path.join(dir, 'breakerbox-broken-path.yaml');
  fs.writeFileSync(configFile, configYaml(nats.url, true, `bench${Date.now()}`));
  const procs = startFleet(configFile, pgEnv, own.port);
  try {
    await Promise.all(procs.map(({ p }) => p.waitForLine(/"ready"/, 30_000)));
    await sleep(WARMUP_MS);
    const from = Date.now();
    await own.setMode('refuse');
    await sleep(BROKEN_PATH_MS);
    const [broken, ...rest] = procs.map(({ p }) => lines(p, from));
    const opens = (ls: Line[]) => ls.filter((l) => l.ev === 'transition' && l.to === 'open');
    const failed = (ls: Line[]) => ls.filter((l) => l.ev === 'call' && !l.ok).length;
    return [
      `with fleet mode, no outage, one busy instance behind a refusing proxy of its own for ${BROKEN_PATH_MS / 1000} s`,
      `  that instance: opened ${opens(broken).length} times (reasons ${[...new Set(opens(broken).map((l) => l.reason))].join(', ') || 'none'})`,
      `  the other ${rest.length}: opened ${rest.reduce((n, ls) => n + opens(ls).length, 0)} times, failed or refused user calls ${rest.reduce((n, ls) => n + failed(ls), 0)}`,
    ].join('\n');
  } finally {
    await Promise.all(procs.map(({ p }) => p.kill('SIGKILL')));
    await own.close();
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(REGISTER)) throw new Error('dist/register.js is missing: npm run build first');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-bench-fleet-'));
  const postgres = await startPrivatePostgres({ maxConnections: 100 });
  const nats = await startPrivateNats();
  const proxy = await startTcpFaultProxy({ targetPort: postgres.port });
  const pgEnv = {
    PGHOST: proxy.host,
    PGPORT: String(proxy.port),
    PGUSER: postgres.user,
    PGDATABASE: postgres.database,
    PGPASSWORD: undefined,
  };
  try {
    process.stdout.write(
      `fleet benchmark: ${BUSY} busy (a call every ${BUSY_EVERY_MS} ms) + ${IDLE} idle (every ${IDLE_EVERY_MS} ms) instances, timeout ${RESET_PERIOD_MS / 1000}s, ${OUTAGE_MS / 1000} s outage (proxy resets every connection)\n`,
    );
    const alone = await run(proxy, nats, pgEnv, false, dir);
    process.stdout.write(summary('without fleet mode', alone) + '\n');
    const fleet = await run(proxy, nats, pgEnv, true, dir);
    process.stdout.write(summary('with fleet mode (quorum 2, heartbeat 1s)', fleet) + '\n');
    const killed = await run(proxy, nats, pgEnv, true, dir, true);
    process.stdout.write(
      summary(
        `with fleet mode, nats-server killed ${NATS_KILL_AT_MS / 1000} s into the outage and started again ${NATS_DOWN_MS / 1000} s later`,
        killed,
      ) + '\n',
    );
    process.stdout.write(
      `  p99 difference from the run with NATS up: ${(killed.p99OutageMs - fleet.p99OutageMs).toFixed(3)} ms over the outage, ${(killed.p99NatsWindowMs - fleet.p99NatsWindowMs).toFixed(3)} ms while NATS was down\n`,
    );
    process.stdout.write((await brokenPath(nats, pgEnv, postgres.port, dir)) + '\n');
  } finally {
    await proxy.close();
    await nats.cleanup();
    await postgres.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);

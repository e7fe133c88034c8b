/**
 * `npm run bench:fleet`: what fleet mode changes in an outage, with real processes.
 *
 * Eight instances under `--require dist/register.js` (2 busy: a call every 100 ms; 6 idle: a
 * call every 3 s), each call a fresh pg.Client against a private Postgres behind our TCP
 * fault proxy, which counts the connections that reach it; a private nats-server for the
 * fleet; the database breaker with `failure_threshold: 3`, `timeout: 2s`. 20 s into the run
 * the proxy resets every connection for 20 s (the outage), then passes again. The same run
 * is made without and with fleet mode. Then a longer outage with fleet mode in which
 * nats-server is killed and started again every BLOCK_MS (blocks with NATS up and down
 * alternating in the same run, so machine noise falls on both alike): the guarded calls'
 * p99 of each NATS-down block beside the mean of the NATS-up blocks on either side of it,
 * and how soon every member sees the whole fleet again after each restart. A last run has no
 * outage, but one busy instance reaches Postgres through a refusing proxy of its own: a bad
 * path of its own, which must open nobody else. Prints numbers, asserts nothing.
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
/** The NATS on/off run: blocks from this long into the outage (every instance open by then). */
const BLOCKS_FROM_MS = 2_000;
/** Each block lasts this long: longer than 3 heartbeats, so in a NATS-down block every member ends up alone. */
const BLOCK_MS = 6_000;
/** Up, down, up, ..., up: every down block has an up block on either side. */
const BLOCKS = 11;
const BROKEN_PATH_MS = 15_000;

interface Line {
  t: number;
  /** Calls: when the call started (Date.now()); `t` is when it ended. */
  t0?: number;
  ev: 'ready' | 'call' | 'transition' | 'fleet';
  ok?: boolean;
  ms?: number;
  members?: number;
  code?: string;
  /** Failed calls: the members and the prober (self, other, null) this instance saw as the call started. */
  prober?: string | null;
  from?: string;
  to?: string;
  reason?: string;
}

interface RunResult {
  attempts: number;
  steadyAttemptsPerPeriod: number;
  idleFailedCalls: number;
  /** Of those, started before the quorum was reached (nothing fleet mode can spare). */
  idleFailedBeforeQuorum: number;
  /** Started after the quorum was reached but before that instance opened (with fleet mode: the news in flight). */
  idleFailedInFlight: number;
  /** Each idle failed call: when it started, ms after the quorum was reached (negative: before). */
  idleFailedStartsMs: number[];
  busyFailedCalls: number;
  idleOpenedAfterQuorumMs: number[];
  idleOpenReasons: string[];
  closedAfterRecoveryMs: { busy: number[]; idle: number[] };
  /** Idle instances letting calls through again (half-open or closed) after Postgres returned. */
  idleAcceptingAfterRecoveryMs: number[];
  /** Idle instances' transitions after Postgres returned, as `state:reason@ms`. */
  idleTransitionsAfterRecovery: string[];
  /** Guarded calls' p99 (ms) over the outage. */
  p99OutageMs: number;
}

function p99(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)];
}

function median(xs: number[]): number {
  const sorted = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
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
): Promise<RunResult> {
  const configFile = path.join(dir, `breakerbox-${fleet ? 'fleet' : 'alone'}.yaml`);
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
    await sleep(OUTAGE_MS);
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

    const failedCalls = (p: NodeProcess, until = recoveredAt, from = outageAt) =>
      lines(p, from, until).filter((l) => l.ev === 'call' && !l.ok && l.code !== 'ECIRCUITOPEN');
    const failed = (p: NodeProcess, until = recoveredAt, from = outageAt) => failedCalls(p, until, from).length;
    // By when each call started: one started before the quorum was reached, or before this
    // instance heard of it, was let through by a breaker that had no reason yet to refuse it.
    const started = (l: Line) => l.t0 ?? l.t;
    const firstOpen = (p: NodeProcess) => opens(p)[0]?.t ?? Infinity;
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
    return {
      attempts,
      steadyAttemptsPerPeriod: steadyAttempts / steadyPeriods,
      idleFailedCalls: idle.reduce((n, { p }) => n + failed(p), 0),
      idleFailedBeforeQuorum: idle.reduce((n, { p }) => n + failedCalls(p).filter((l) => started(l) < quorumAt).length, 0),
      idleFailedInFlight: idle.reduce(
        (n, { p }) => n + failedCalls(p).filter((l) => started(l) >= quorumAt && started(l) < firstOpen(p)).length,
        0,
      ),
      idleFailedStartsMs: idle.flatMap(({ p }) => failedCalls(p).map((l) => started(l) - quorumAt)),
      busyFailedCalls: busy.reduce((n, { p }) => n + failed(p), 0),
      idleOpenedAfterQuorumMs: idle.map(({ p }) => (opens(p)[0]?.t ?? NaN) - quorumAt),
      idleOpenReasons: idle.map(({ p }) => opens(p)[0]?.reason ?? 'stayed closed'),
      closedAfterRecoveryMs: { busy: busy.map(({ p }) => closedAfter(p)), idle: idle.map(({ p }) => closedAfter(p)) },
      idleAcceptingAfterRecoveryMs: idle.map(({ p }) => accepting(p)),
      idleTransitionsAfterRecovery: idle.map(({ p }) =>
        lines(p, recoveredAt)
          .filter((l) => l.ev === 'transition')
          .map((l) => `${l.to}:${l.reason}@${l.t - recoveredAt}`)
          .join(' '),
      ),
      p99OutageMs: p99(callMs(outageAt, recoveredAt)),
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
    `  failed user calls (not refusals): idle instances ${r.idleFailedCalls} (started before the second own opening: ${r.idleFailedBeforeQuorum}; after it, before that instance opened: ${r.idleFailedInFlight}), busy instances ${r.busyFailedCalls}`,
    `  idle instances' failed calls started at (ms after the second own opening): ${ms(r.idleFailedStartsMs) || 'none'}`,
    `  idle instances opened (ms after the second own opening): ${ms(r.idleOpenedAfterQuorumMs)}`,
    `  idle instances' opening reasons: ${r.idleOpenReasons.join(', ')}`,
    `  closed after Postgres returned (ms): busy ${ms(r.closedAfterRecoveryMs.busy)}; idle ${ms(r.closedAfterRecoveryMs.idle)}`,
    `  idle instances letting calls through again (half-open or closed) after Postgres returned (ms): ${ms(r.idleAcceptingAfterRecoveryMs)}`,
    `  idle instances' transitions after Postgres returned (state:reason@ms): ${r.idleTransitionsAfterRecovery.join('; ')}`,
    `  guarded calls' p99: ${r.p99OutageMs.toFixed(3)} ms over the outage`,
  ].join('\n');
}

interface Block {
  up: boolean;
  from: number;
  to: number;
  /** p99 (ms) of every guarded call started in the block, of the refused ones, of those that reached Postgres. */
  all: number;
  refused: number;
  reached: number;
  calls: number;
  reachedCount: number;
  idleFailed: number;
  /** Up blocks: idle failed calls started after that instance saw the whole fleet again (the fleet back in reach). */
  idleFailedRejoined: number;
  /** Those calls, as `ms after rejoining (members seen, prober seen)`. */
  idleFailedRejoinedCalls: string[];
  /** Durations (ms) of every call started in the block, for the pooled p99. */
  ms: number[];
  refusedMs: number[];
}

interface BlocksResult {
  blocks: Block[];
  /** Per instance and restart: from nats-server accepting clients again to seeing all 8 members. */
  rejoinedMs: number[];
}

/**
 * One outage with fleet mode, nats-server killed and started again every BLOCK_MS: blocks with
 * NATS up and down alternate in the same run, so what the shared machine does to latency falls
 * on both kinds alike, and each down block is compared with the up blocks on either side.
 */
async function natsOnOff(
  proxy: TcpFaultProxy,
  nats: PrivateNats,
  pgEnv: Record<string, string | undefined>,
  dir: string,
): Promise<BlocksResult> {
  const configFile = path.join(dir, 'breakerbox-nats-on-off.yaml');
  fs.writeFileSync(configFile, configYaml(nats.url, true, `bench${Date.now()}`));
  const procs = startFleet(configFile, pgEnv);
  try {
    await Promise.all(procs.map(({ p }) => p.waitForLine(/"ready"/, 30_000)));
    await sleep(WARMUP_MS);
    await proxy.setMode('reset');
    await sleep(BLOCKS_FROM_MS);
    const spans: { up: boolean; from: number; to: number }[] = [];
    const backAt: number[] = [];
    for (let k = 0; k < BLOCKS; k++) {
      const up = k % 2 === 0;
      if (k > 0 && up) {
        await nats.start();
        backAt.push(Date.now());
      } else if (!up) {
        await nats.kill('SIGKILL');
      }
      const from = Date.now();
      await sleep(BLOCK_MS);
      spans.push({ up, from, to: from + BLOCK_MS });
    }
    await proxy.setMode('pass');
    await sleep(2_000);

    const idle = procs.filter((x) => !x.busy);
    const callsIn = (ps: { p: NodeProcess }[], from: number, to: number) =>
      ps.flatMap(({ p }) => lines(p).filter((l) => l.ev === 'call' && l.ms !== undefined && (l.t0 ?? l.t) >= from && (l.t0 ?? l.t) < to));
    const blocks = spans.map(({ up, from, to }) => {
      const calls = callsIn(procs, from, to);
      const refused = calls.filter((l) => l.code === 'ECIRCUITOPEN');
      const reached = calls.filter((l) => l.code !== 'ECIRCUITOPEN');
      return {
        up,
        from,
        to,
        all: p99(calls.map((l) => l.ms!)),
        refused: p99(refused.map((l) => l.ms!)),
        reached: p99(reached.map((l) => l.ms!)),
        calls: calls.length,
        reachedCount: reached.length,
        idleFailed: callsIn(idle, from, to).filter((l) => !l.ok && l.code !== 'ECIRCUITOPEN').length,
        ...(() => {
          if (!up) return { idleFailedRejoined: 0, idleFailedRejoinedCalls: [] };
          const after = idle.flatMap(({ p }) => {
            const back =
              lines(p, from).find((l) => l.ev === 'fleet' && l.members === BUSY + IDLE)?.t ?? (from === spans[0].from ? from : to);
            return callsIn([{ p }], Math.max(from, back), to)
              .filter((l) => !l.ok && l.code !== 'ECIRCUITOPEN')
              .map((l) => `${(l.t0 ?? l.t) - back} ms (${l.members} members, prober ${l.prober})`);
          });
          return { idleFailedRejoined: after.length, idleFailedRejoinedCalls: after };
        })(),
        ms: calls.map((l) => l.ms!),
        refusedMs: refused.map((l) => l.ms!),
      };
    });
    const rejoinedMs = backAt.flatMap((at) =>
      procs.map(({ p }) => {
        const all = lines(p, at).find((l) => l.ev === 'fleet' && l.members === BUSY + IDLE);
        return all ? all.t - at : NaN;
      }),
    );
    return { blocks, rejoinedMs };
  } finally {
    await Promise.all(procs.map(({ p }) => p.kill('SIGKILL')));
    if (!nats.running) await nats.start();
  }
}

function blocksSummary(r: BlocksResult): string {
  const f = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));
  // Each down block against the mean of the up blocks on either side of it (drift cancels).
  const diffs = (key: 'all' | 'refused' | 'reached') =>
    r.blocks.flatMap((b, i) => (b.up ? [] : [b[key] - (r.blocks[i - 1][key] + r.blocks[i + 1][key]) / 2]));
  const spread = (key: 'all' | 'refused' | 'reached') => {
    const d = diffs(key).filter((x) => !Number.isNaN(x));
    return `median ${f(median(d))} ms, from ${f(Math.min(...d))} to ${f(Math.max(...d))} ms (${d.length} down blocks: ${d.map(f).join(', ')})`;
  };
  const sum = (up: boolean, key: 'calls' | 'reachedCount' | 'idleFailed' | 'idleFailedRejoined') =>
    r.blocks.filter((b) => b.up === up).reduce((n, b) => n + b[key], 0);
  const ups = r.blocks.filter((b) => b.up).length;
  const downs = r.blocks.length - ups;
  const rejoined = r.rejoinedMs.filter((x) => !Number.isNaN(x));
  return [
    `with fleet mode, an outage in which nats-server is killed and started again every ${BLOCK_MS / 1000} s (${ups} blocks up, ${downs} down, alternating)`,
    `  per block (up/down): p99 all calls / refused / reached Postgres (ms), calls, reached Postgres, idle failed calls`,
    ...r.blocks.map(
      (b) =>
        `    ${b.up ? 'up  ' : 'down'} ${f(b.all)} / ${f(b.refused)} / ${f(b.reached)}, ${b.calls} calls, ${b.reachedCount} reached, ${b.idleFailed} idle failed`,
    ),
    `  p99 of a down block minus the mean of the up blocks beside it, all guarded calls: ${spread('all')}`,
    `  the same, refused calls only (the breaker's own path): ${spread('refused')}`,
    `  the same, calls that reached Postgres: ${spread('reached')}`,
    `  pooled p99 over all up blocks / all down blocks: all calls ${f(p99(r.blocks.filter((b) => b.up).flatMap((b) => b.ms)))} / ${f(p99(r.blocks.filter((b) => !b.up).flatMap((b) => b.ms)))} ms, refused calls ${f(p99(r.blocks.filter((b) => b.up).flatMap((b) => b.refusedMs)))} / ${f(p99(r.blocks.filter((b) => !b.up).flatMap((b) => b.refusedMs)))} ms`,
    `  idle failed calls in up blocks started after that instance saw all ${BUSY + IDLE} members again: ${sum(true, 'idleFailedRejoined')} (of ${sum(true, 'idleFailed')})${r.blocks
      .flatMap((b) => b.idleFailedRejoinedCalls)
      .map((c) => `; ${c}`)
      .join('')}`,
    `  calls reaching Postgres per block: ${(sum(true, 'reachedCount') / ups).toFixed(1)} with NATS up, ${(sum(false, 'reachedCount') / downs).toFixed(1)} with NATS down (each instance probing on its own); idle failed calls ${sum(true, 'idleFailed')} up, ${sum(false, 'idleFailed')} down`,
    `  every member sees all ${BUSY + IDLE} again after each restart (ms after nats-server accepts clients): ${rejoined.length === 0 ? 'never' : `${Math.round(Math.min(...rejoined))} to ${Math.round(Math.max(...rejoined))}`}, ${r.rejoinedMs.length - rejoined.length} of ${r.rejoinedMs.length} never`,
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
    process.stdout.write(blocksSummary(await natsOnOff(proxy, nats, pgEnv, dir)) + '\n');
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

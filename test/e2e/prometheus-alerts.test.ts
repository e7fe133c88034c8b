/**
 * The alert rules and dashboards against a real Prometheus scraping the real demo:
 *
 * 1. a private Postgres and nats-server, and two services using them under
 *    `--require dist/register.js`: the demo game server (job "game"; its own bots make the
 *    traffic) and a small Postgres client (job "lobby", test/fixtures/apps/pg-loop.js),
 *    each with a breaker called database; a `prometheus` scrapes both every second with
 *    prometheus/alerts.yml loaded;
 * 2. Postgres is stopped: CircuitBreakerOpen must fire for breaker="database" once per
 *    service, and every Grafana alert query must return data while the outage lasts (the
 *    demo's database fallback answers the refused calls, so the fallback queries have
 *    something to show);
 * 3. Postgres is started again: the breakers close and the alerts resolve;
 * 4. the lobby service is killed: CircuitBreakerMetricsAbsent fires for it;
 * 5. every PromQL query of the dashboards and Grafana alert rules is valid and returned
 *    data at some point of the scenario (but CircuitBreakerFlapping's, which needs half an
 *    hour of flapping, and CircuitBreakerFleetDisconnected's, which needs an instance cut
 *    off from NATS for minutes: prometheus/alerts.test.yml covers both). The lobby runs
 *    fleet mode (a fleet of one) so the dashboard's fleet row has data.
 *
 * Needs `prometheus` (Debian package `prometheus`), the PostgreSQL server binaries and
 * `nats-server`: a missing one skips the suite, or fails it in CI
 * (CI / BREAKERBOX_REQUIRE_SERVICES=1).
 */
import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { spawnNode, type NodeProcess } from '../helpers/child-process';
import { collectDashboardQueries, loadPrometheusAlerts, PROMETHEUS_ALERTS_FILE, REPO_ROOT } from '../helpers/dashboard-queries';
import { eventually } from '../helpers/eventually';
import { freePort, LOOPBACK } from '../helpers/free-port';
import { findNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { checkService, pgBinariesAvailable } from '../helpers/require-services';

const PROMETHEUS_BIN = process.env.BREAKERBOX_PROMETHEUS_BIN || 'prometheus';
const REGISTER = path.join(REPO_ROOT, 'dist', 'register.js');
const DEMO_SERVER = path.join(REPO_ROOT, 'examples', 'demo', 'server.js');
const DEMO_CONFIG = path.join(REPO_ROOT, 'examples', 'demo', 'breakerbox.yaml');
const PG_LOOP = path.join(REPO_ROOT, 'test', 'fixtures', 'apps', 'pg-loop.js');
const SERVICES = ['game', 'lobby'];
/** Needs 30 minutes of flapping to return anything; promtool tests prove it fires. */
const SLOW_ALERTS = ['CircuitBreakerFlapping'];
/** Fires only for an instance cut off from its fleet for minutes; promtool tests prove it fires. */
const FLEET_CHANNEL_ALERTS = ['CircuitBreakerFleetDisconnected'];
/** Fires only after 5 minutes of calls refused over a concurrency limit; promtool tests prove it fires. */
const SHEDDING_ALERTS = ['CircuitBreakerShedding'];
/**
 * Adaptive protection (DESIGN.md section 6): series the demo exports only when its breakers
 * have a concurrency limit or `auto` thresholds, and refusals over a limit, which need a
 * dependency slower than the traffic it gets. A query reading one of them may come back
 * empty only if the demo exported none of it during the whole scenario, so the check
 * tightens by itself once the demo exports them.
 */
const ADAPTIVE_SERIES: { selector: string; readBy: (expr: string) => boolean }[] = [
  ...[
    'circuit_breaker_concurrency_limit',
    'circuit_breaker_inflight',
    'circuit_breaker_baseline_failure_rate',
    'circuit_breaker_baseline_latency_seconds',
  ].map((name) => ({ selector: name, readBy: (expr: string) => expr.includes(name) })),
  { selector: 'circuit_breaker_calls_total{outcome="limited"}', readBy: (expr: string) => expr.includes('outcome="limited"') },
];
const DEPENDENCY_BREAKERS = ['database', 'nats', 'websocket', 'file_system', 'auth'];
/** What every alert's `for:` becomes here; see alertRulesWithShortFor(). */
const SHORT_FOR = '5s';
const HEALTHY_BASELINE_MS = 10_000;
const WAIT_MS = 90_000;

// ------------------------------------------------------------------ Prometheus process

interface PrometheusServer {
  readonly url: string;
  logs(): string;
  stop(): Promise<void>;
}

interface ApiResponse<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

interface Sample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

interface ActiveAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
}

const livePrometheus = new Set<ChildProcess>();
let exitHookInstalled = false;

async function prometheusAvailable(): Promise<void> {
  const probe = spawnSync(PROMETHEUS_BIN, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  if (probe.error !== undefined || probe.status !== 0) {
    const why = probe.error?.message ?? probe.stderr.trim();
    throw new Error(
      `\`${PROMETHEUS_BIN} --version\` failed (${why}); install it (Debian: apt-get install prometheus) or set BREAKERBOX_PROMETHEUS_BIN`,
    );
  }
}

async function natsServerAvailable(): Promise<void> {
  if (findNatsServer() === null) throw new Error('nats-server not found (Debian: apt-get install nats-server, or set NATS_SERVER_BIN)');
}

/**
 * Every `for:` of prometheus/alerts.yml shortened to SHORT_FOR (from 2m, 5m, 10m, 15m), so
 * CircuitBreakerOpen fires and resolves within seconds. The expressions are left exactly as
 * shipped; the real durations are covered by prometheus/alerts.test.yml (promtool).
 */
function alertRulesWithShortFor(): string {
  const text = readFileSync(PROMETHEUS_ALERTS_FILE, 'utf8');
  let rewritten = 0;
  const out = text.replace(/^(\s+)for:\s*\S+\s*$/gm, (_line, indent: string) => {
    rewritten++;
    return `${indent}for: ${SHORT_FOR}`;
  });
  expect(rewritten, 'one `for:` line per alert rule').to.equal(loadPrometheusAlerts().filter((r) => r.for !== undefined).length);
  return out;
}

async function startPrometheus(dir: string, targets: Record<string, string>): Promise<PrometheusServer> {
  writeFileSync(path.join(dir, 'alerts.yml'), alertRulesWithShortFor());
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(
    configFile,
    stringifyYaml({
      global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: ['alerts.yml'],
      scrape_configs: Object.entries(targets).map(([job, target]) => ({
        job_name: job,
        metrics_path: '/metrics',
        static_configs: [{ targets: [target] }],
      })),
    }),
  );
  const logFile = path.join(dir, 'prometheus.log');
  const logs = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A Prometheus left behind would keep its port and data directory.
    process.once('exit', () => {
      for (const child of livePrometheus) child.kill('SIGKILL');
    });
  }

  // freePort() is not a reservation: retry with another port if it was taken meanwhile.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `http://${LOOPBACK}:${port}`;
    // A file, not a pipe: an unread pipe could fill up and stall Prometheus.
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        PROMETHEUS_BIN,
        [
          `--config.file=${configFile}`,
          `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
          `--web.listen-address=${LOOPBACK}:${port}`,
          '--log.level=info',
        ],
        { stdio: ['ignore', fd, fd] },
      );
    } finally {
      closeSync(fd);
    }
    livePrometheus.add(child);
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', () => resolve());
    });
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(force);
      }
      livePrometheus.delete(child);
    };
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) break;
      const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return { url, logs, stop };
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`prometheus on ${url} not ready after 30 s\n${logs()}`);
      }
      await sleep(200);
    }
    await stop();
    if (attempt >= 3 || !/address already in use/i.test(logs())) throw new Error(`prometheus exited at startup\n${logs()}`);
  }
}

async function api<T>(prometheus: PrometheusServer, route: string, params: Record<string, string> = {}): Promise<ApiResponse<T>> {
  const res = await fetch(`${prometheus.url}${route}`, {
    method: 'POST',
    body: new URLSearchParams(params),
    signal: AbortSignal.timeout(10_000),
  });
  // Prometheus answers bad queries with 400 and a JSON body saying why.
  return (await res.json()) as ApiResponse<T>;
}

async function instantQuery(prometheus: PrometheusServer, expr: string): Promise<ApiResponse<{ result: Sample[] }>> {
  return api(prometheus, '/api/v1/query', { query: expr });
}

async function resultOf(prometheus: PrometheusServer, expr: string): Promise<Sample[]> {
  const res = await instantQuery(prometheus, expr);
  if (res.status !== 'success') throw new Error(`${expr}: ${res.errorType}: ${res.error}`);
  return res.data.result;
}

function rangeParams(expr: string, start: number): Record<string, string> {
  return { query: expr, start: String(start), end: String(Math.ceil(Date.now() / 1000)), step: '1s' };
}

/** The series of `expr` evaluated every second from `start` (unix seconds) to now. */
async function rangeResult(prometheus: PrometheusServer, expr: string, start: number): Promise<Sample[]> {
  const res = await api<{ result: Sample[] }>(prometheus, '/api/v1/query_range', rangeParams(expr, start));
  if (res.status !== 'success') throw new Error(`${expr}: ${res.errorType}: ${res.error}`);
  return res.data.result;
}

async function activeAlerts(prometheus: PrometheusServer): Promise<ActiveAlert[]> {
  const res = await fetch(`${prometheus.url}/api/v1/alerts`, { signal: AbortSignal.timeout(10_000) });
  return ((await res.json()) as ApiResponse<{ alerts: ActiveAlert[] }>).data.alerts;
}

// ------------------------------------------------------------------ scenario helpers

/**
 * The demo's own breakerbox.yaml, made quick: the database breaker tries again every 2 s
 * (no backoff) and judges its failure rate over 10 s, so the outage shows in every panel
 * and alert query within seconds. Monitoring on a loopback port of the test's choosing.
 *
 * The demo's database breaker opens on its failure rate; the lobby's opens on consecutive
 * failures, and both report a failure rate over their window.
 */
function demoConfigForTest(monitoringPort: number): string {
  const doc = parseYaml(readFileSync(DEMO_CONFIG, 'utf8')) as { circuit_breakers: Record<string, Record<string, unknown>> };
  const section = doc.circuit_breakers;
  expect(section.database, `${DEMO_CONFIG}: circuit_breakers.database`).to.be.an('object');
  expect(section.database, 'the demo database breaker opens on its failure rate').to.include({ failure_threshold: 0, failure_rate: 0.5 });
  Object.assign(section.database, { timeout: '2s', window: 10 });
  delete section.database.max_timeout;
  section.monitoring = { enabled: true, host: LOOPBACK, port: monitoringPort, log_level: 'warn' };
  return stringifyYaml(doc);
}

/** The breaker names in a result, children (`websocket@...`) under their parent's name. */
function breakerNames(samples: Sample[]): Set<string> {
  return new Set(samples.map((s) => (s.metric.breaker ?? '').split('@')[0]));
}

/**
 * Whether a series has a value Grafana can draw. NaN (0/0: a share with no calls, an
 * average of no observations) renders as "No data", so it does not count.
 */
function hasNumber(series: Sample): boolean {
  const values = series.values ?? (series.value ? [series.value] : []);
  return values.some(([, v]) => !Number.isNaN(Number(v)));
}

/** The adaptive-protection series `expr` reads that the demo did not export at any point since `start`. */
async function adaptiveSeriesNeverExported(prometheus: PrometheusServer, expr: string, start: number): Promise<string[]> {
  const absent: string[] = [];
  for (const { selector, readBy } of ADAPTIVE_SERIES) {
    if (!readBy(expr)) continue;
    if (!(await rangeResult(prometheus, `count(${selector})`, start)).some(hasNumber)) absent.push(selector);
  }
  return absent;
}

function tail(text: string, lines = 30): string {
  return text.split('\n').slice(-lines).join('\n');
}

// ------------------------------------------------------------------ the test

describe('Prometheus alert rules and Grafana queries against the demo and a real Prometheus', function () {
  this.timeout(180_000);

  let dir = '';
  let postgres: PrivatePostgres | undefined;
  let nats: PrivateNats | undefined;
  let app: NodeProcess | undefined;
  let lobby: NodeProcess | undefined;
  let prometheus: PrometheusServer | undefined;
  let scenarioStart = 0;
  let outageStart = 0;

  const context = (): string =>
    [
      `--- demo stdout ---\n${tail(app?.stdoutLines.join('\n') ?? '')}`,
      `--- demo stderr ---\n${tail(app?.stderrLines.join('\n') ?? '')}`,
      `--- prometheus log ---\n${tail(prometheus?.logs() ?? '', 15)}`,
    ].join('\n');
  /** How the scenario waits for Prometheus: a probe a second, the demo's output on timeout. */
  const polling = { everyMs: 1_000, context };

  before(async function () {
    await checkService(this, 'prometheus', prometheusAvailable);
    await checkService(this, 'postgres binaries', pgBinariesAvailable);
    await checkService(this, 'nats-server', natsServerAvailable);
    if (!existsSync(REGISTER)) throw new Error('dist/register.js is missing: run `npm run build` first (npm test does)');

    dir = mkdtempSync(path.join(os.tmpdir(), 'breakerbox-prom-'));
    postgres = await startPrivatePostgres();
    nats = await startPrivateNats();

    const monitoringPort = await freePort();
    const configFile = path.join(dir, 'breakerbox.yaml');
    writeFileSync(configFile, demoConfigForTest(monitoringPort));
    scenarioStart = Math.floor(Date.now() / 1000);
    app = spawnNode(['--require', REGISTER, DEMO_SERVER], {
      // The demo keeps its rooms in ./data, the config guards ./data/**: both in the temp dir.
      cwd: dir,
      env: {
        BREAKERBOX_CONFIG: configFile,
        PGHOST: postgres.host,
        PGPORT: String(postgres.port),
        PGUSER: postgres.user,
        PGDATABASE: postgres.database,
        PGPASSWORD: undefined,
        NATS_URL: nats.url,
        DEMO_HTTP_PORT: String(await freePort()),
        DEMO_HTTP_HOST: LOOPBACK,
        DEMO_BOTS: '6',
        DEMO_DATA_DIR: undefined,
        OTEL_EXPORTER_PROMETHEUS_PORT: undefined,
        OTEL_EXPORTER_PROMETHEUS_HOST: undefined,
        OTEL_TRACES_EXPORTER: undefined,
      },
      timeoutMs: 600_000,
    });
    await app.waitForLine(/game server listening on/, 30_000);

    const lobbyPort = await freePort();
    const lobbyConfig = path.join(dir, 'lobby.yaml');
    writeFileSync(
      lobbyConfig,
      stringifyYaml({
        circuit_breakers: {
          database: { failure_threshold: 2, timeout: '2s' },
          monitoring: { host: LOOPBACK, port: lobbyPort, log_level: 'warn' },
          // A fleet of one: its series feed the dashboard's fleet row.
          fleet: { enabled: true, url: nats.url, name: 'lobby', heartbeat: '1s' },
        },
      }),
    );
    lobby = spawnNode(['--require', REGISTER, PG_LOOP], {
      cwd: dir,
      env: {
        BREAKERBOX_CONFIG: lobbyConfig,
        PGHOST: postgres.host,
        PGPORT: String(postgres.port),
        PGUSER: postgres.user,
        PGDATABASE: postgres.database,
        PGPASSWORD: undefined,
        OTEL_EXPORTER_PROMETHEUS_PORT: undefined,
        OTEL_EXPORTER_PROMETHEUS_HOST: undefined,
        OTEL_TRACES_EXPORTER: undefined,
      },
      timeoutMs: 600_000,
    });
    await lobby.waitForLine(/pg-loop running/, 30_000);
    prometheus = await startPrometheus(dir, { game: `${LOOPBACK}:${monitoringPort}`, lobby: `${LOOPBACK}:${lobbyPort}` });
  });

  after(async () => {
    await prometheus?.stop();
    await lobby?.kill('SIGTERM');
    await app?.kill('SIGTERM');
    await nats?.cleanup();
    await postgres?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes traffic through every dependency breaker of the demo', async () => {
    await eventually(
      'successful calls through every dependency breaker in Prometheus',
      WAIT_MS,
      async () => {
        const names = breakerNames(await resultOf(prometheus!, 'sum by (breaker) (circuit_breaker_calls_total{outcome="success"}) > 0'));
        const missing = DEPENDENCY_BREAKERS.filter((b) => !names.has(b));
        if (missing.length > 0) throw new Error(`no successful calls yet through ${missing.join(', ')}`);
        return names;
      },
      polling,
    );
    // Some healthy history, so rates and shares have a "before" to compare the outage with.
    await sleep(HEALTHY_BASELINE_MS);
    expect(await activeAlerts(prometheus!), 'no alert while every dependency is up').to.deep.equal([]);
  });

  it('fires CircuitBreakerOpen for breaker="database" once per service while Postgres is down', async () => {
    outageStart = Math.floor(Date.now() / 1000);
    await postgres!.stop('immediate');
    await eventually(
      'CircuitBreakerOpen firing for database in both services',
      WAIT_MS,
      async () => {
        const jobs = (await activeAlerts(prometheus!))
          .filter((a) => a.labels.alertname === 'CircuitBreakerOpen' && a.labels.breaker === 'database' && a.state === 'firing')
          .map((a) => a.labels.job);
        return SERVICES.every((job) => jobs.includes(job)) ? true : undefined;
      },
      polling,
    );
    const series = await resultOf(prometheus!, 'ALERTS{alertname="CircuitBreakerOpen", alertstate="firing", breaker="database"}');
    expect(series.map((s) => s.metric.job).sort()).to.deep.equal(SERVICES);
    for (const s of series) {
      expect(s.metric).to.include({ severity: 'warning', breaker: 'database' });
      expect(s.metric, 'replicas merge: no instance label').to.not.have.property('instance');
    }
  });

  it('has data for every Grafana alert query while the outage lasts', async () => {
    const alertQueries = collectDashboardQueries().filter(
      (q) =>
        q.source.includes('breakerbox-alerts.yaml') &&
        ![...SLOW_ALERTS, ...FLEET_CHANNEL_ALERTS, ...SHEDDING_ALERTS, 'CircuitBreakerMetricsAbsent'].some((name) =>
          q.source.includes(`rule ${name} `),
        ),
    );
    expect(alertQueries.map((q) => q.source).join('\n')).to.include('CircuitBreakerFallbackOveruse');
    const pending = new Map(alertQueries.map((q) => [q.source, q.expr]));
    // Over the outage so far, one point a second: a condition can be true for a few seconds
    // only (refused calls are not attempts: only trial calls feed an open breaker's window).
    await eventually(
      'data for the alert queries',
      WAIT_MS,
      async () => {
        for (const [source, expr] of pending) {
          if ((await rangeResult(prometheus!, expr, outageStart)).some(hasNumber)) pending.delete(source);
        }
        if (pending.size > 0) throw new Error(`still without data: ${[...pending.keys()].join('; ')}`);
        return true;
      },
      polling,
    );
  });

  it('resolves CircuitBreakerOpen once Postgres is back and the breaker has closed', async () => {
    await postgres!.start();
    await eventually(
      'the database breakers closed in Prometheus',
      WAIT_MS,
      async () => {
        const closed = await resultOf(prometheus!, 'circuit_breaker_state{breaker="database", state="closed"} == 1');
        return closed.length === SERVICES.length ? true : undefined;
      },
      polling,
    );
    await eventually(
      'CircuitBreakerOpen for database to resolve',
      WAIT_MS,
      async () => {
        const stillActive = (await activeAlerts(prometheus!)).some(
          (a) => a.labels.alertname === 'CircuitBreakerOpen' && a.labels.breaker === 'database',
        );
        return stillActive ? undefined : true;
      },
      polling,
    );
    expect(await resultOf(prometheus!, 'ALERTS{alertname="CircuitBreakerOpen", breaker="database"}')).to.deep.equal([]);
    // A completed recovery: the recovery-duration panel has an observation to show.
    await eventually(
      'a recovery duration for database',
      WAIT_MS,
      async () => {
        const count = await resultOf(prometheus!, 'circuit_breaker_recovery_duration_seconds_count{breaker="database"} > 0');
        return count.length > 0 ? true : undefined;
      },
      polling,
    );
  });

  it('fires CircuitBreakerMetricsAbsent for the lobby once it stops exporting metrics', async () => {
    await lobby!.kill('SIGKILL');
    await eventually(
      'CircuitBreakerMetricsAbsent firing for the lobby',
      WAIT_MS,
      async () => {
        const firing = (await activeAlerts(prometheus!)).filter(
          (a) => a.labels.alertname === 'CircuitBreakerMetricsAbsent' && a.state === 'firing',
        );
        return firing.length > 0 ? firing : undefined;
      },
      polling,
    );
    const series = await resultOf(prometheus!, 'ALERTS{alertname="CircuitBreakerMetricsAbsent", alertstate="firing"}');
    expect(series.map((s) => s.metric.job)).to.deep.equal(['lobby']);
  });

  it('accepts every dashboard and Grafana alert query, and each returned data during the scenario', async () => {
    const queries = collectDashboardQueries().filter(
      (q) => ![...SLOW_ALERTS, ...FLEET_CHANNEL_ALERTS, ...SHEDDING_ALERTS].some((name) => q.source.includes(`rule ${name} `)),
    );
    expect(queries.length).to.be.greaterThan(10);
    const problems: string[] = [];
    const notExported: string[] = [];
    for (const { source, expr } of queries) {
      const now = await instantQuery(prometheus!, expr);
      if (now.status !== 'success') {
        problems.push(`${source}: invalid PromQL (${now.errorType}: ${now.error}): ${expr}`);
        continue;
      }
      // Some queries only have data at certain moments (alert conditions during the outage,
      // recoveries after it): ask for the whole scenario, one point a second.
      const history = await api<{ result: Sample[] }>(prometheus!, '/api/v1/query_range', rangeParams(expr, scenarioStart));
      if (history.status !== 'success') problems.push(`${source}: range query failed (${history.errorType}: ${history.error})`);
      else if (!history.data.result.some(hasNumber)) {
        const absent = await adaptiveSeriesNeverExported(prometheus!, expr, scenarioStart);
        if (absent.length > 0) notExported.push(`${source}: ${absent.join(', ')}`);
        else problems.push(`${source}: no data at any point of the scenario: ${expr}`);
      }
    }
    if (notExported.length > 0) {
      process.stderr.write(
        `      not exported by the demo in this scenario, so not required to have data:\n        ${notExported.join('\n        ')}\n`,
      );
    }
    expect(problems, context()).to.deep.equal([]);
  });
});

describe("Prometheus scraping a node:cluster app: a worker's open breaker and its alert", function () {
  this.timeout(120_000);
  let dir = '';
  let app: NodeProcess | undefined;
  let prometheus: PrometheusServer | undefined;
  const context = (): string =>
    [
      `--- app stderr ---\n${tail(app?.stderrLines.join('\n') ?? '')}`,
      `--- prometheus log ---\n${tail(prometheus?.logs() ?? '', 15)}`,
    ].join('\n');

  before(async function () {
    await checkService(this, 'prometheus', prometheusAvailable);
    if (!existsSync(REGISTER)) throw new Error('dist/register.js is missing: run `npm run build` first (npm test does)');
    dir = mkdtempSync(path.join(os.tmpdir(), 'breakerbox-prom-cluster-'));
    const port = await freePort();
    const configFile = path.join(dir, 'breakerbox.yaml');
    writeFileSync(
      configFile,
      stringifyYaml({ circuit_breakers: { auth: { failure_threshold: 2 }, monitoring: { host: LOOPBACK, port, log_level: 'warn' } } }),
    );
    const env: Record<string, string | undefined> = { NODE_OPTIONS: undefined };
    for (const key of Object.keys(process.env)) if (key.startsWith('OTEL_') || key.startsWith('BREAKERBOX_')) env[key] = undefined;
    // Worker 1 of 2 forces `auth` open; the primary makes no calls of its own.
    app = spawnNode(['--require', REGISTER, path.join(REPO_ROOT, 'test', 'fixtures', 'apps', 'cluster-app.js')], {
      env: { ...env, BREAKERBOX_CONFIG: configFile, WORKERS: '2' },
      timeoutMs: 300_000,
    });
    await app.waitForLine('workers ready', 30_000);
    prometheus = await startPrometheus(dir, { cluster: `${LOOPBACK}:${port}` });
  });

  after(async () => {
    await prometheus?.stop();
    await app?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("sees the worker's forced-open breaker on the primary's port and fires CircuitBreakerOpen for it", async () => {
    const p = prometheus!;
    const open = await eventually(
      "a worker's auth breaker scraped as forced_open",
      WAIT_MS,
      async () => {
        const r = await resultOf(p, 'circuit_breaker_state{breaker="auth", state="forced_open"} == 1');
        return r.length > 0 ? r : undefined;
      },
      { everyMs: 1_000, context },
    );
    expect(open).to.have.length(1);
    expect(open[0].metric.worker).to.match(/^[12]$/);
    const rejected = await resultOf(p, 'sum(circuit_breaker_calls_total{breaker="auth", outcome="rejected"})');
    expect(Number(rejected[0]?.value?.[1])).to.equal(5);
    await eventually(
      'CircuitBreakerOpen firing for breaker="auth"',
      WAIT_MS,
      async () => {
        const alerts = await activeAlerts(p);
        return alerts.some((a) => a.labels.alertname === 'CircuitBreakerOpen' && a.labels.breaker === 'auth' && a.state === 'firing')
          ? true
          : undefined;
      },
      { everyMs: 1_000, context },
    );
  });
});

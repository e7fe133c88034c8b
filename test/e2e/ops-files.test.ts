/**
 * Checks the operations files shipped with breakerbox: Grafana dashboards and
 * provisioning, Grafana-managed and Prometheus alert rules, the Prometheus config and
 * docker-compose.yml. Static checks always run; the ones that need promtool (Debian
 * package `prometheus`) or docker-compose (Debian package `docker-compose`) skip when
 * the tool is missing, unless CI or BREAKERBOX_REQUIRE_SERVICES=1 is set, where they fail.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  collectDashboardQueries,
  EXPRESSION_DATASOURCE_UID,
  flattenPanels,
  loadDashboards,
  loadGrafanaAlerts,
  loadPrometheusAlerts,
  PROMETHEUS_DATASOURCE_UID,
  REPO_ROOT,
  type DatasourceRef,
} from '../helpers/dashboard-queries';
import { METRIC } from '../../src/telemetry/names';

const EXPECTED_ALERTS = [
  'CircuitBreakerOpen',
  'CircuitBreakerHighFailureRate',
  'CircuitBreakerSlowRecovery',
  'CircuitBreakerFallbackOveruse',
  'CircuitBreakerFlapping',
  'CircuitBreakerShedding',
  'CircuitBreakerMetricsAbsent',
  'CircuitBreakerFleetDisconnected',
];
/** Alerts about a scrape target rather than one breaker: they keep the instance instead. */
const PER_TARGET_ALERTS = ['CircuitBreakerMetricsAbsent', 'CircuitBreakerFleetDisconnected'];
const DASHBOARD_UID = 'breakerbox-overview';
/** The design contract, beside the repository (shared/DESIGN.md): it names every exported series. */
const DESIGN_FILE = path.join(REPO_ROOT, '..', 'shared', 'DESIGN.md');
/** What the Prometheus exporter appends to a counter's or a histogram's name. */
const EXPORTER_SUFFIXES = ['', '_total', '_bucket', '_sum', '_count'];
const TRACING_DATASOURCE_TYPES = ['jaeger', 'tempo'];

interface Tool {
  name: string;
  debianPackage: string;
  /** Command prefixes to try, first that answers wins. */
  candidates: string[][];
  versionArgs: string[];
}

const PROMTOOL: Tool = {
  name: 'promtool',
  debianPackage: 'prometheus',
  candidates: [['promtool']],
  versionArgs: ['--version'],
};
const AMTOOL: Tool = {
  name: 'amtool',
  debianPackage: 'prometheus-alertmanager',
  candidates: [['amtool']],
  versionArgs: ['--version'],
};
const DOCKER_COMPOSE: Tool = {
  name: 'docker-compose',
  debianPackage: 'docker-compose',
  candidates: [['docker-compose'], ['docker', 'compose']],
  versionArgs: ['version'],
};

/**
 * Same policy as test/helpers/require-services.ts: BREAKERBOX_REQUIRE_SERVICES decides when
 * set ("1" requires, "0" allows skipping), else a set CI (other than "false"/"0") requires.
 */
function toolsAreRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const truthy = (value: string): boolean => !['0', 'false', 'no', 'off', ''].includes(value.trim().toLowerCase());
  const explicit = env.BREAKERBOX_REQUIRE_SERVICES;
  if (explicit !== undefined && explicit !== '') return truthy(explicit);
  return env.CI !== undefined && truthy(env.CI);
}

const toolCache = new Map<string, string[] | null>();

function findTool(tool: Tool): string[] | null {
  if (!toolCache.has(tool.name)) {
    const found = tool.candidates.find((prefix) => {
      const [cmd, ...args] = prefix;
      const probe = spawnSync(cmd, [...args, ...tool.versionArgs], { encoding: 'utf8', timeout: 30_000 });
      return probe.error === undefined && probe.status === 0;
    });
    toolCache.set(tool.name, found ?? null);
  }
  return toolCache.get(tool.name) ?? null;
}

/** The tool's command prefix; skips the test, or fails it in CI, when it is missing. */
function needTool(ctx: Mocha.Context, tool: Tool): string[] {
  const found = findTool(tool);
  if (found) return found;
  const message =
    `${tool.name} is not installed: install the Debian package '${tool.debianPackage}' ` + `(apt-get install -y ${tool.debianPackage})`;
  if (toolsAreRequired()) {
    throw new Error(`${message}. It is required because CI or BREAKERBOX_REQUIRE_SERVICES=1 is set.`);
  }
  process.stderr.write(`      skipped: ${message}\n`);
  ctx.skip();
  throw new Error('unreachable: skip() throws');
}

function run(prefix: string[], args: string[]): { status: number | null; output: string } {
  const [cmd, ...rest] = prefix;
  const result = spawnSync(cmd, [...rest, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

function expectSuccess(prefix: string[], args: string[]): string {
  const { status, output } = run(prefix, args);
  expect(status, `${[...prefix, ...args].join(' ')} failed:\n${output}`).to.equal(0);
  return output;
}

function readYaml<T>(relativePath: string): T {
  return parseYaml(readFileSync(path.join(REPO_ROOT, relativePath), 'utf8')) as T;
}

/** Prometheus-style duration ("1m30s", "15m", "10s") in seconds. */
function durationSeconds(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)];
  expect(parts.map((p) => p[0]).join(''), `"${text}" is not a duration`).to.equal(text);
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit], 0);
}

function normalizeExpr(expr: string): string {
  return expr.replace(/\s+/g, ' ').trim();
}

function datasourceUid(ref: DatasourceRef | string | null | undefined): string | undefined {
  return typeof ref === 'string' ? ref : (ref?.uid ?? undefined);
}

interface ComposeService {
  image?: string;
  command?: string | string[];
  working_dir?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  ports?: (string | number | { target: number; published?: number | string })[];
  healthcheck?: { test?: string | string[] };
}
interface ComposeFile {
  services: Record<string, ComposeService>;
}

function composeEnv(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Bind mounts of a service: host path (relative to the repo) and container path. */
function bindMounts(service: ComposeService): { source: string; target: string }[] {
  const mounts: { source: string; target: string }[] = [];
  for (const volume of service.volumes ?? []) {
    if (typeof volume === 'string') {
      const parts = volume.split(':');
      // "/container/path" alone is an anonymous volume; "name:/path" a named one.
      if (parts.length < 2) continue;
      if (!/^[./~]/.test(parts[0])) continue;
      mounts.push({ source: parts[0], target: parts[1] });
    } else if (volume.type === 'bind' && volume.source && volume.target) {
      mounts.push({ source: volume.source, target: volume.target });
    }
  }
  return mounts;
}

function composePortTargets(service: ComposeService): number[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return Number(port.target);
    const text = String(port);
    return Number(text.split(':').pop()?.split('/')[0]);
  });
}

/** The label lists of every `by (...)` clause in a PromQL expression. */
function byClauses(expr: string): string[][] {
  return [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].map((m) =>
    m[1]
      .split(',')
      .map((label) => label.trim())
      .filter(Boolean),
  );
}

/**
 * Every series name breakerbox exports, as the exporter spells it: the names it registers
 * (src/telemetry/names.ts) and the series DESIGN.md promises, which includes those of
 * features still being built. A query naming anything else would never return data.
 */
function exportedSeriesNames(): Set<string> {
  const bases = new Set<string>(Object.values(METRIC));
  if (existsSync(DESIGN_FILE)) {
    for (const [name] of readFileSync(DESIGN_FILE, 'utf8').matchAll(/\bcircuit_breaker_[a-z0-9_]+/g)) bases.add(name);
  }
  return new Set([...bases].flatMap((base) => EXPORTER_SUFFIXES.map((suffix) => `${base}${suffix}`)));
}

/** The breakerbox series a PromQL expression reads. */
function seriesIn(expr: string): string[] {
  return [...expr.matchAll(/\bcircuit_breaker_[a-z0-9_]+/g)].map((m) => m[0]);
}

describe('ops files (Grafana, Prometheus, docker-compose)', function () {
  describe('Grafana dashboards', function () {
    const dashboards = loadDashboards();

    it('ships at least the overview dashboard, as valid JSON with a fixed uid', function () {
      expect(dashboards.map((d) => path.basename(d.file))).to.include('breakerbox-overview.json');
      for (const { file, dashboard } of dashboards) {
        expect(dashboard.uid, `${file}: uid`)
          .to.be.a('string')
          .and.match(/^[A-Za-z0-9_-]{1,40}$/);
        expect(dashboard.title, `${file}: title`).to.be.a('string').and.not.equal('');
        expect(dashboard.schemaVersion, `${file}: schemaVersion`).to.be.a('number').and.at.least(36);
      }
    });

    it('gives every panel a unique id, a title and a description', function () {
      for (const { file, dashboard } of dashboards) {
        const panels = flattenPanels(dashboard.panels);
        expect(panels, `${file}: panels`).to.not.be.empty;
        const ids = panels.map((p) => p.id);
        for (const id of ids) expect(id, `${file}: panel id`).to.be.a('number');
        expect(new Set(ids).size, `${file}: duplicate panel ids in ${JSON.stringify(ids)}`).to.equal(ids.length);
        for (const panel of panels) {
          if (panel.type === 'row') continue;
          expect(panel.title, `${file}: panel ${panel.id} title`).to.be.a('string').and.not.equal('');
          expect(panel.description, `${file}: panel ${panel.id} "${panel.title}" description`).to.be.a('string').with.length.above(40);
          expect(panel.gridPos, `${file}: panel ${panel.id} gridPos`).to.be.an('object');
          expect(panel.gridPos!.x + panel.gridPos!.w, `${file}: panel ${panel.id} is wider than the grid`).to.be.at.most(24);
        }
      }
    });

    it('queries only the provisioned Prometheus datasource, by its fixed uid', function () {
      for (const { file, dashboard } of dashboards) {
        for (const panel of flattenPanels(dashboard.panels)) {
          if (panel.type === 'row') continue;
          expect(datasourceUid(panel.datasource), `${file}: panel ${panel.id} datasource`).to.equal(PROMETHEUS_DATASOURCE_UID);
          expect(panel.targets, `${file}: panel ${panel.id} targets`).to.be.an('array').that.is.not.empty;
          for (const target of panel.targets ?? []) {
            expect(datasourceUid(target.datasource), `${file}: panel ${panel.id} target ${target.refId} datasource`).to.equal(
              PROMETHEUS_DATASOURCE_UID,
            );
            expect(target.expr, `${file}: panel ${panel.id} target ${target.refId} expr`).to.be.a('string').and.not.equal('');
          }
        }
        for (const variable of dashboard.templating?.list ?? []) {
          if (variable.type !== 'query') continue;
          expect(datasourceUid(variable.datasource), `${file}: variable ${variable.name} datasource`).to.equal(PROMETHEUS_DATASOURCE_UID);
        }
        for (const annotation of dashboard.annotations?.list ?? []) {
          if (annotation.builtIn) continue;
          expect(datasourceUid(annotation.datasource), `${file}: annotation ${annotation.name} datasource`).to.equal(
            PROMETHEUS_DATASOURCE_UID,
          );
        }
      }
    });

    it('offers multi-value job (service), instance and breaker variables with "All"', function () {
      for (const { file, dashboard } of dashboards) {
        const variables = dashboard.templating?.list ?? [];
        expect(variables.map((v) => v.name).slice(0, 3), `${file}: service first, then its replicas, then breakers`).to.deep.equal([
          'job',
          'instance',
          'breaker',
        ]);
        for (const name of ['job', 'instance', 'breaker']) {
          const variable = variables.find((v) => v.name === name);
          expect(variable, `${file}: variable ${name}`).to.not.equal(undefined);
          expect(variable!.type).to.equal('query');
          expect(variable!.multi, `${file}: ${name}.multi`).to.equal(true);
          expect(variable!.includeAll, `${file}: ${name}.includeAll`).to.equal(true);
          const query = typeof variable!.query === 'string' ? variable!.query : JSON.stringify(variable!.query);
          expect(query, `${file}: ${name} query`).to.match(new RegExp(`label_values\\(.*\\b${name}\\)`));
        }
      }
    });

    it('has a fleet row: members each instance sees, its fleet channel, members open on their own evidence, openings by reason', function () {
      const overview = dashboards.find((d) => d.dashboard.uid === DASHBOARD_UID)!.dashboard;
      const panels = flattenPanels(overview.panels);
      const row = panels.find((p) => p.type === 'row' && /fleet/i.test(p.title ?? ''));
      expect(row, 'a row titled Fleet').to.not.equal(undefined);
      const below = panels.filter((p) => p.type !== 'row' && (p.gridPos?.y ?? 0) > (row!.gridPos?.y ?? 0));
      const exprs = below.flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? ''));
      for (const metric of ['circuit_breaker_fleet_members', 'circuit_breaker_fleet_connected', 'circuit_breaker_fleet_open_members']) {
        expect(
          exprs.some((e) => e.includes(metric)),
          `a fleet panel queries ${metric}`,
        ).to.equal(true);
      }
      expect(
        exprs.some((e) => e.includes('circuit_breaker_transitions_total') && /by \([^)]*\breason\b/.test(e)),
        'openings by reason',
      ).to.equal(true);
    });

    it('has an adaptive protection row: limit vs in-flight vs latency, shed calls, learned baselines against current values', function () {
      const overview = dashboards.find((d) => d.dashboard.uid === DASHBOARD_UID)!.dashboard;
      const panels = flattenPanels(overview.panels);
      const row = panels.find((p) => p.type === 'row' && /adaptive protection/i.test(p.title ?? ''));
      expect(row, 'a row titled Adaptive protection').to.not.equal(undefined);
      const rowY = row!.gridPos?.y ?? 0;
      const nextRowY = Math.min(...panels.filter((p) => p.type === 'row' && (p.gridPos?.y ?? 0) > rowY).map((p) => p.gridPos!.y), Infinity);
      const inRow = panels.filter((p) => p.type !== 'row' && (p.gridPos?.y ?? 0) > rowY && (p.gridPos?.y ?? 0) < nextRowY);
      const exprsOf = (p: (typeof panels)[number]): string[] => (p.targets ?? []).map((t) => t.expr ?? '');
      const panelWith = (...needles: (string | RegExp)[]) =>
        inRow.find((p) => needles.every((n) => exprsOf(p).some((e) => (typeof n === 'string' ? e.includes(n) : n.test(e)))));

      expect(
        panelWith('circuit_breaker_concurrency_limit', 'circuit_breaker_inflight', 'circuit_breaker_call_duration_seconds_bucket'),
        'one panel: the limit, the calls in flight and the latency',
      ).to.not.equal(undefined);
      expect(
        panelWith(/rate\(circuit_breaker_calls_total\{[^}]*outcome="limited"/),
        'shed calls: the rate of outcome="limited"',
      ).to.not.equal(undefined);
      expect(
        panelWith('circuit_breaker_baseline_failure_rate', /\bcircuit_breaker_failure_rate\b/),
        'the learned failure-rate baseline against the current failure rate',
      ).to.not.equal(undefined);
      expect(
        panelWith('circuit_breaker_baseline_latency_seconds', /histogram_quantile\(0\.99, .*circuit_breaker_call_duration_seconds_bucket/),
        'the learned latency baseline against p99',
      ).to.not.equal(undefined);
    });

    it('leaves refused calls (rejected, limited), which make no I/O, out of every latency percentile', function () {
      for (const { source, expr } of collectDashboardQueries()) {
        if (!expr.includes('circuit_breaker_call_duration_seconds_bucket')) continue;
        expect(expr, source).to.include('outcome!~"rejected|limited"');
      }
    });

    it('aggregates every panel query over the exporter and scrape labels', function () {
      // otel_scope_* and instance must not split a panel's series by accident.
      for (const { source, expr } of collectDashboardQueries()) {
        if (!source.includes('.json')) continue;
        expect(expr, `${source}: ${expr}`).to.match(/\b(sum|max|min|count|avg)\s+by\s*\(|\b(sum|max|min|count)\s*\(/);
      }
    });

    it('filters every panel by the job variable and keeps job wherever it keeps breaker', function () {
      for (const { dashboard, file } of dashboards) {
        for (const panel of flattenPanels(dashboard.panels)) {
          for (const target of panel.targets ?? []) {
            const expr = target.expr ?? '';
            expect(expr, `${file}: panel ${panel.id}`).to.include('job=~"$job"');
            for (const labels of byClauses(expr)) {
              if (labels.includes('breaker')) expect(labels, `${file}: panel ${panel.id}: by (${labels.join(', ')})`).to.include('job');
            }
          }
        }
      }
    });
  });

  describe('collectDashboardQueries()', function () {
    it('queries only series breakerbox exports (src/telemetry/names.ts, DESIGN.md)', function () {
      const known = exportedSeriesNames();
      const queries = [
        ...collectDashboardQueries(),
        ...loadPrometheusAlerts().map((r) => ({ source: `prometheus/alerts.yml ${r.alert}`, expr: r.expr })),
      ];
      for (const { source, expr } of queries) {
        for (const series of seriesIn(expr)) expect(known, `${source}: ${series}`).to.include(series);
      }
    });

    it('returns every dashboard and Grafana alert query with Grafana variables substituted', function () {
      const queries = collectDashboardQueries();
      const dashboardTargets = loadDashboards().flatMap(({ dashboard }) => flattenPanels(dashboard.panels).flatMap((p) => p.targets ?? []));
      const fromDashboards = queries.filter((q) => q.source.includes('.json') && q.source.includes(' panel '));
      expect(fromDashboards).to.have.length(dashboardTargets.length);
      for (const alert of EXPECTED_ALERTS) {
        expect(
          queries.some((q) => q.source.includes(`rule ${alert} `)),
          `query of ${alert}`,
        ).to.equal(true);
      }
      for (const { source, expr } of queries) {
        expect(expr, `${source} still has a Grafana variable`).to.not.match(/\$(__|\{|[A-Za-z])|\[\[/);
        expect(expr, source).to.match(/circuit_breaker_/);
      }
      const latency = queries.find((q) => q.expr.includes('circuit_breaker_call_duration_seconds_bucket'));
      expect(latency?.expr).to.include('[1m]').and.include('breaker=~".*"');
    });
  });

  describe('alert rules', function () {
    const prometheusRules = loadPrometheusAlerts();
    const grafana = loadGrafanaAlerts();
    const grafanaRules = grafana.groups.flatMap((g) => g.rules);

    it('defines the same eight alerts in Prometheus and Grafana', function () {
      expect(prometheusRules.map((r) => r.alert).sort()).to.deep.equal([...EXPECTED_ALERTS].sort());
      expect(grafanaRules.map((r) => r.title).sort()).to.deep.equal([...EXPECTED_ALERTS].sort());
    });

    it('uses the same expression, for, labels and annotations in both files, per alert name', function () {
      for (const rule of prometheusRules) {
        const twin = grafanaRules.find((r) => r.title === rule.alert);
        expect(twin, `Grafana rule ${rule.alert}`).to.not.equal(undefined);
        const queries = twin!.data.filter((q) => q.datasourceUid === PROMETHEUS_DATASOURCE_UID);
        expect(queries, `${rule.alert}: Grafana rule has exactly one Prometheus query`).to.have.length(1);
        expect(normalizeExpr(queries[0].model.expr ?? ''), `${rule.alert}: expr`).to.equal(normalizeExpr(rule.expr));
        expect(twin!.for, `${rule.alert}: for`).to.equal(rule.for);
        expect(twin!.labels, `${rule.alert}: labels`).to.deep.equal(rule.labels);
        expect(twin!.annotations, `${rule.alert}: annotations`).to.deep.equal(rule.annotations);
      }
    });

    it('keeps the service (job, service_name) and the breaker label, merging replicas, and names both in the summary', function () {
      for (const rule of prometheusRules) {
        const perTarget = PER_TARGET_ALERTS.includes(rule.alert);
        const kept = perTarget ? 'instance' : 'breaker';
        const clauses = byClauses(rule.expr);
        expect(clauses, `${rule.alert}: aggregates with by (...)`).to.not.be.empty;
        for (const labels of clauses) {
          expect(labels, `${rule.alert}: by (${labels.join(', ')})`).to.include.members(['job', 'service_name', kept]);
          if (!perTarget) expect(labels, `${rule.alert}: replicas merge`).to.not.include('instance');
        }
        expect(rule.expr, `${rule.alert}: no "without", which would keep scrape labels`).to.not.match(/\bwithout\s*\(/);
        expect(rule.annotations?.summary, `${rule.alert}: summary`).to.match(new RegExp(`\\{\\{\\s*\\$labels\\.${kept}\\s*\\}\\}`));
        expect(rule.annotations?.summary, `${rule.alert}: summary names the service`).to.match(/\{\{\s*\$labels\.job\s*\}\}/);
        expect(rule.annotations?.description, `${rule.alert}: description`).to.be.a('string').with.length.above(40);
        expect(rule.labels?.severity, `${rule.alert}: severity label`).to.be.oneOf(['info', 'warning', 'critical']);
        expect(durationSeconds(rule.for ?? ''), `${rule.alert}: for`).to.be.above(0);
      }
    });

    it('links every alert to its runbook section and to the dashboard filtered to its service', function () {
      const runbook = readFileSync(path.join(REPO_ROOT, 'docs', 'runbook.md'), 'utf8');
      const anchors = new Set(
        [...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) =>
          m[1]
            .trim()
            .toLowerCase()
            .replace(/[^a-z0-9 _-]/g, '')
            .replace(/ /g, '-'),
        ),
      );
      for (const rule of prometheusRules) {
        const url = rule.annotations?.runbook_url ?? '';
        expect(url, `${rule.alert}: runbook_url`).to.match(/^docs\/runbook\.md#/);
        expect(anchors, `${rule.alert}: ${url} names a section of docs/runbook.md`).to.include(url.split('#')[1]);
        const dashboard = rule.annotations?.dashboard_url ?? '';
        expect(dashboard, `${rule.alert}: dashboard_url`).to.include(`/d/${DASHBOARD_UID}?`).and.include('var-job={{ $labels.job }}');
      }
      expect(loadDashboards().map((d) => d.dashboard.uid)).to.include(DASHBOARD_UID);
    });

    it('counts half-open (and not disabled) as "not closed" in CircuitBreakerOpen', function () {
      const open = prometheusRules.find((r) => r.alert === 'CircuitBreakerOpen')!;
      expect(open.expr).to.include('half_open').and.include('forced_open').and.not.include('disabled');
      expect(durationSeconds(open.for!)).to.equal(120);
    });

    it('provisions Grafana rules Grafana accepts', function () {
      expect(grafana.apiVersion).to.equal(1);
      const uids = grafanaRules.map((r) => r.uid);
      expect(new Set(uids).size, 'unique rule uids').to.equal(uids.length);
      for (const group of grafana.groups) {
        expect(group.name, 'group name').to.be.a('string').and.not.equal('');
        expect(group.folder, `${group.name}: folder`).to.be.a('string').and.not.equal('');
        const interval = durationSeconds(group.interval);
        expect(interval % 10, `${group.name}: interval ${group.interval} is a multiple of 10s`).to.equal(0);
        expect(interval).to.be.above(0);
        for (const rule of group.rules) {
          expect(rule.uid, `${rule.title}: uid`).to.match(/^[A-Za-z0-9_-]{1,40}$/);
          expect(durationSeconds(rule.for ?? '') % interval, `${rule.title}: for is a multiple of the interval`).to.equal(0);
          expect(rule.noDataState).to.be.oneOf(['OK', 'NoData', 'Alerting', 'KeepLast']);
          expect(rule.execErrState).to.be.oneOf(['OK', 'Error', 'Alerting', 'KeepLast']);
          const refIds = rule.data.map((q) => q.refId);
          expect(refIds, `${rule.title}: condition ${rule.condition}`).to.include(rule.condition);
          for (const query of rule.data) {
            expect(query.model.refId, `${rule.title}/${query.refId}: model.refId`).to.equal(query.refId);
            expect(query.datasourceUid, `${rule.title}/${query.refId}: datasourceUid`).to.be.oneOf([
              PROMETHEUS_DATASOURCE_UID,
              EXPRESSION_DATASOURCE_UID,
            ]);
            const range = query.relativeTimeRange;
            expect(range, `${rule.title}/${query.refId}: relativeTimeRange`).to.be.an('object');
            expect(Number.isInteger(range!.from) && Number.isInteger(range!.to), `${rule.title}/${query.refId}: whole seconds`).to.equal(
              true,
            );
            if (query.datasourceUid === PROMETHEUS_DATASOURCE_UID) {
              expect(range!.from, `${rule.title}/${query.refId}: from > to`).to.be.above(range!.to);
              expect(query.model.instant, `${rule.title}/${query.refId}: instant query`).to.equal(true);
            } else {
              expect(query.model.type).to.be.oneOf(['reduce', 'threshold', 'math', 'classic_conditions', 'resample']);
              if (typeof query.model.expression === 'string' && query.model.type !== 'math') {
                expect(refIds, `${rule.title}/${query.refId}: input`).to.include(query.model.expression);
              }
            }
          }
        }
      }
    });
  });

  describe('notifications: Alertmanager and Grafana contact points', function () {
    interface Route {
      receiver?: string;
      matchers?: string[];
      routes?: Route[];
      group_by?: string[];
    }
    interface Receiver {
      name: string;
      pagerduty_configs?: Record<string, unknown>[];
      slack_configs?: Record<string, unknown>[];
    }
    const loadAlertmanager = () => readYaml<{ route: Route; receivers: Receiver[] }>('prometheus/alertmanager.yml');

    it('routes critical alerts to PagerDuty and warnings to Slack, grouped per service and breaker', function () {
      const alertmanager = loadAlertmanager();
      const receiverOf = (severity: string): Receiver | undefined => {
        const route = alertmanager.route.routes?.find((r) =>
          (r.matchers ?? []).some((m) => m.replace(/\s/g, '') === `severity="${severity}"`),
        );
        return alertmanager.receivers.find((r) => r.name === route?.receiver);
      };
      expect(receiverOf('critical')?.pagerduty_configs, 'critical -> PagerDuty').to.be.an('array').that.is.not.empty;
      expect(receiverOf('warning')?.slack_configs, 'warning -> Slack').to.be.an('array').that.is.not.empty;
      expect(alertmanager.route.group_by).to.include.members(['alertname', 'job', 'breaker']);
      for (const severity of new Set(loadPrometheusAlerts().map((r) => r.labels?.severity))) {
        expect(receiverOf(String(severity)), `a route for severity ${severity}`).to.not.equal(undefined);
      }
    });

    it('keeps the PagerDuty and Slack keys out of the files: compose passes them from the environment', function () {
      const text = readFileSync(path.join(REPO_ROOT, 'prometheus', 'alertmanager.yml'), 'utf8');
      expect(text).to.not.match(/hooks\.slack\.com\/services\/[A-Z0-9]/);
      const am = readYaml<ComposeFile>('docker-compose.yml').services.alertmanager;
      expect(am, 'an alertmanager service').to.not.equal(undefined);
      expect(am.image).to.match(/^prom\/alertmanager:v\d+\.\d+\.\d+$/);
      expect(composePortTargets(am)).to.include(9093);
      const env = composeEnv(am);
      expect(Object.keys(env)).to.include.members(['PAGERDUTY_ROUTING_KEY', 'SLACK_WEBHOOK_URL']);
      expect(bindMounts(am).map((m) => path.resolve(REPO_ROOT, m.source))).to.include(
        path.join(REPO_ROOT, 'prometheus', 'alertmanager.yml'),
      );
      const prometheusConfig = readYaml<{ alerting?: { alertmanagers: { static_configs: { targets: string[] }[] }[] } }>(
        'prometheus/prometheus.yml',
      );
      const targets = (prometheusConfig.alerting?.alertmanagers ?? []).flatMap((a) => a.static_configs.flatMap((s) => s.targets));
      expect(targets, 'Prometheus sends its alerts to the compose Alertmanager').to.include('alertmanager:9093');
    });

    it('provisions the same routing as Grafana contact points and a notification policy', function () {
      type ContactPoints = {
        apiVersion: number;
        contactPoints: { name: string; receivers: { uid: string; type: string; settings: Record<string, string> }[] }[];
      };
      type Policies = {
        apiVersion: number;
        policies: { receiver: string; group_by: string[]; routes: { receiver: string; object_matchers: string[][] }[] }[];
      };
      const contacts = readYaml<ContactPoints>('grafana/provisioning/alerting/contact-points.yaml');
      const policies = readYaml<Policies>('grafana/provisioning/alerting/notification-policies.yaml');
      expect(contacts.apiVersion).to.equal(1);
      expect(policies.apiVersion).to.equal(1);
      const typeOf = (name: string): string[] => (contacts.contactPoints.find((c) => c.name === name)?.receivers ?? []).map((r) => r.type);
      const [policy] = policies.policies;
      const routeFor = (severity: string) =>
        policy.routes.find((r) => r.object_matchers.some(([k, op, v]) => k === 'severity' && op === '=' && v === severity));
      expect(typeOf(routeFor('critical')?.receiver ?? ''), 'critical -> PagerDuty').to.deep.equal(['pagerduty']);
      expect(typeOf(routeFor('warning')?.receiver ?? ''), 'warning -> Slack').to.deep.equal(['slack']);
      expect(policy.group_by).to.include.members(['alertname', 'job', 'breaker']);
      const settings = JSON.stringify(contacts.contactPoints.flatMap((c) => c.receivers.map((r) => r.settings)));
      expect(settings).to.include('$PAGERDUTY_ROUTING_KEY').and.include('$SLACK_WEBHOOK_URL');
      expect(Object.keys(composeEnv(readYaml<ComposeFile>('docker-compose.yml').services.grafana))).to.include.members([
        'PAGERDUTY_ROUTING_KEY',
        'SLACK_WEBHOOK_URL',
      ]);
    });
  });

  describe('Grafana provisioning', function () {
    it('provisions Prometheus with the fixed uid and a tracing datasource', function () {
      type DatasourceFile = { apiVersion: number; datasources: { name: string; uid: string; type: string; url: string }[] };
      const prom = readYaml<DatasourceFile>('grafana/provisioning/datasources/prometheus.yaml');
      expect(prom.apiVersion).to.equal(1);
      const prometheus = prom.datasources.find((d) => d.type === 'prometheus');
      expect(prometheus?.uid).to.equal(PROMETHEUS_DATASOURCE_UID);
      expect(prometheus?.url).to.equal('http://prometheus:9090');

      const tracing = readYaml<DatasourceFile>('grafana/provisioning/datasources/jaeger.yaml').datasources.find((d) =>
        TRACING_DATASOURCE_TYPES.includes(d.type),
      );
      expect(tracing, 'tracing datasource').to.not.equal(undefined);
      expect(tracing!.uid).to.match(/^breakerbox-/);
      const compose = readYaml<ComposeFile>('docker-compose.yml');
      expect(Object.keys(compose.services), `${tracing!.url} points at a compose service`).to.include(new URL(tracing!.url).hostname);
    });

    it('loads dashboards from the directory docker-compose mounts them into', function () {
      const provider = readYaml<{ apiVersion: number; providers: { type: string; options: { path: string } }[] }>(
        'grafana/provisioning/dashboards/breakerbox.yaml',
      );
      expect(provider.apiVersion).to.equal(1);
      const fileProvider = provider.providers.find((p) => p.type === 'file');
      expect(fileProvider, 'file provider').to.not.equal(undefined);
      const grafana = readYaml<ComposeFile>('docker-compose.yml').services.grafana;
      const mount = bindMounts(grafana).find((m) => path.posix.normalize(m.target) === path.posix.normalize(fileProvider!.options.path));
      expect(mount, `a grafana mount at ${fileProvider!.options.path}`).to.not.equal(undefined);
      expect(path.resolve(REPO_ROOT, mount!.source)).to.equal(path.join(REPO_ROOT, 'grafana', 'dashboards'));
    });
  });

  describe('docker-compose.yml', function () {
    const compose = readYaml<ComposeFile>('docker-compose.yml');

    it('has the demo app, its dependencies and the observability stack, with pinned images', function () {
      for (const name of ['app', 'postgres', 'nats', 'prometheus', 'alertmanager', 'grafana', 'jaeger']) {
        expect(compose.services, `service ${name}`).to.have.property(name);
      }
      for (const [name, service] of Object.entries(compose.services)) {
        expect(service.image, `${name}: image`).to.be.a('string');
        const tag = service.image!.split('/').pop()!.split(':')[1];
        expect(tag, `${name}: ${service.image} is pinned to a version`).to.be.a('string').and.match(/\d/);
        expect(tag).to.not.match(/latest/);
      }
    });

    it('runs the demo app from the repository with the documented environment', function () {
      const app = compose.services.app;
      expect(app.image).to.match(/^node:20\.\d+\.\d+-bookworm-slim$/);
      expect(app.working_dir).to.equal('/app');
      expect(bindMounts(app).some((m) => path.resolve(REPO_ROOT, m.source) === REPO_ROOT && m.target === '/app')).to.equal(true);
      const env = composeEnv(app);
      expect(env).to.include({
        PGHOST: 'postgres',
        PGPORT: '5432',
        PGUSER: 'postgres',
        PGPASSWORD: 'postgres',
        PGDATABASE: 'breakerbox',
        NATS_URL: 'nats://nats:4222',
        DEMO_HTTP_PORT: '8080',
        OTEL_SERVICE_NAME: 'breakerbox-demo',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      });
      const otlp = new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT);
      expect(Object.keys(compose.services), 'OTLP endpoint host').to.include(otlp.hostname);
      expect(composePortTargets(compose.services[otlp.hostname]), 'trace backend exposes the OTLP port').to.include(Number(otlp.port));
      expect(composePortTargets(app)).to.include.members([8080, 9464]);
      const postgresEnv = composeEnv(compose.services.postgres);
      expect(postgresEnv).to.include({ POSTGRES_PASSWORD: 'postgres', POSTGRES_DB: 'breakerbox' });
      expect(compose.services.postgres.healthcheck?.test, 'postgres healthcheck').to.not.equal(undefined);
      expect(JSON.stringify(compose.services.nats.command)).to.include('-js');
      const grafanaEnv = composeEnv(compose.services.grafana);
      expect(grafanaEnv).to.include({ GF_AUTH_ANONYMOUS_ENABLED: 'true', GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer' });
    });

    it('mounts only files and directories that exist in the repository', function () {
      for (const [name, service] of Object.entries(compose.services)) {
        for (const mount of bindMounts(service)) {
          const hostPath = path.resolve(REPO_ROOT, mount.source);
          expect(existsSync(hostPath), `${name}: ${mount.source} (${hostPath}) does not exist`).to.equal(true);
        }
      }
    });

    it('scrapes the app on its monitoring port and mounts every rule file Prometheus loads', function () {
      const config = readYaml<{
        rule_files?: string[];
        scrape_configs: { job_name: string; scrape_interval?: string; static_configs?: { targets: string[] }[] }[];
      }>('prometheus/prometheus.yml');
      const targets = config.scrape_configs.flatMap((job) => (job.static_configs ?? []).flatMap((s) => s.targets));
      expect(targets).to.include('app:9464');
      const appJob = config.scrape_configs.find((job) => (job.static_configs ?? []).some((s) => s.targets.includes('app:9464')));
      expect(appJob?.scrape_interval).to.equal('5s');

      const mounts = bindMounts(compose.services.prometheus);
      const configMount = mounts.find((m) => path.resolve(REPO_ROOT, m.source) === path.join(REPO_ROOT, 'prometheus', 'prometheus.yml'));
      expect(configMount, 'prometheus.yml mount').to.not.equal(undefined);
      expect(config.rule_files, 'rule_files').to.be.an('array').that.is.not.empty;
      for (const ruleFile of config.rule_files ?? []) {
        const inContainer = path.posix.resolve(path.posix.dirname(configMount!.target), ruleFile);
        const mount = mounts.find((m) => m.target === inContainer);
        expect(mount, `${ruleFile} is mounted at ${inContainer}`).to.not.equal(undefined);
        expect(path.resolve(REPO_ROOT, mount!.source)).to.equal(path.resolve(REPO_ROOT, 'prometheus', ruleFile));
      }
    });
  });

  describe('with promtool', function () {
    it('promtool check rules prometheus/alerts.yml', function () {
      const promtool = needTool(this, PROMTOOL);
      expect(expectSuccess(promtool, ['check', 'rules', 'prometheus/alerts.yml'])).to.include('SUCCESS');
    });

    it('promtool check config prometheus/prometheus.yml', function () {
      const promtool = needTool(this, PROMTOOL);
      expect(expectSuccess(promtool, ['check', 'config', 'prometheus/prometheus.yml'])).to.include('SUCCESS');
    });

    it('promtool test rules prometheus/alerts.test.yml', function () {
      const promtool = needTool(this, PROMTOOL);
      expect(expectSuccess(promtool, ['test', 'rules', 'prometheus/alerts.test.yml'])).to.include('SUCCESS');
    });

    it('parses every dashboard and Grafana alert query as PromQL', function () {
      const promtool = needTool(this, PROMTOOL);
      const queries = collectDashboardQueries();
      // promtool parses the expression of every recording rule it checks.
      const rules = {
        groups: [
          {
            name: 'dashboard-queries',
            rules: queries.map((q, i) => ({ record: `breakerbox:dashboard_query_${i}`, expr: q.expr })),
          },
        ],
      };
      const dir = mkdtempSync(path.join(os.tmpdir(), 'breakerbox-promql-'));
      try {
        const file = path.join(dir, 'dashboard-queries.yml');
        writeFileSync(file, stringifyYaml(rules));
        const { status, output } = run(promtool, ['check', 'rules', file]);
        const listing = queries.map((q, i) => `  ${i}: ${q.source}\n     ${q.expr}`).join('\n');
        expect(status, `promtool rejected a query:\n${output}\nqueries:\n${listing}`).to.equal(0);
        expect(output).to.include(`SUCCESS: ${queries.length} rules found`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('with amtool', function () {
    it('amtool check-config prometheus/alertmanager.yml', function () {
      const amtool = needTool(this, AMTOOL);
      expect(expectSuccess(amtool, ['check-config', 'prometheus/alertmanager.yml'])).to.include('SUCCESS');
    });

    it('routes a critical alert of one service to PagerDuty and a warning to Slack (amtool config routes test)', function () {
      const amtool = needTool(this, AMTOOL);
      const route = (labels: string[]): string =>
        expectSuccess(amtool, ['config', 'routes', 'test', '--config.file=prometheus/alertmanager.yml', ...labels])
          .split('\n')[0]
          .trim();
      expect(route(['alertname=CircuitBreakerSlowRecovery', 'severity=critical', 'job=game', 'breaker=database'])).to.equal('pagerduty');
      expect(route(['alertname=CircuitBreakerOpen', 'severity=warning', 'job=lobby', 'breaker=database'])).to.equal('slack');
    });
  });

  describe('with docker-compose', function () {
    it('docker-compose config -q', function () {
      const compose = needTool(this, DOCKER_COMPOSE);
      expectSuccess(compose, ['config', '-q']);
    });
  });
});

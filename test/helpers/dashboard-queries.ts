/**
 * Reads the ops files (Grafana dashboards, Grafana-managed alert rules, Prometheus alert
 * rules) and hands out their PromQL, so tests can check the files against each other and
 * run every query against a real Prometheus.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const DASHBOARDS_DIR = path.join(REPO_ROOT, 'grafana', 'dashboards');
export const GRAFANA_ALERTS_FILE = path.join(REPO_ROOT, 'grafana', 'provisioning', 'alerting', 'breakerbox-alerts.yaml');
export const PROMETHEUS_ALERTS_FILE = path.join(REPO_ROOT, 'prometheus', 'alerts.yml');

/** The fixed uid of the provisioned Prometheus datasource (grafana/provisioning/datasources). */
export const PROMETHEUS_DATASOURCE_UID = 'breakerbox-prometheus';
/** Grafana's pseudo-datasource for server-side expressions (reduce, threshold, math). */
export const EXPRESSION_DATASOURCE_UID = '__expr__';

/** What Grafana's built-in interval variables become outside Grafana. */
const BUILTIN_SUBSTITUTES: Record<string, string> = {
  __rate_interval: '1m',
  __interval: '1m',
  __range: '1h',
};
/** Dashboard variables only ever appear inside `=~"..."` matchers: "all values". */
const VARIABLE_SUBSTITUTE = '.*';

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface DashboardTarget {
  refId?: string;
  expr?: string;
  datasource?: DatasourceRef | string | null;
  [key: string]: unknown;
}

export interface DashboardPanel {
  id?: number;
  type?: string;
  title?: string;
  description?: string;
  datasource?: DatasourceRef | string | null;
  targets?: DashboardTarget[];
  panels?: DashboardPanel[];
  gridPos?: { h: number; w: number; x: number; y: number };
  [key: string]: unknown;
}

export interface DashboardVariable {
  name: string;
  type: string;
  query?: unknown;
  datasource?: DatasourceRef | string | null;
  multi?: boolean;
  includeAll?: boolean;
  [key: string]: unknown;
}

export interface DashboardAnnotation {
  name?: string;
  expr?: string;
  builtIn?: number;
  datasource?: DatasourceRef | string | null;
  [key: string]: unknown;
}

export interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: DashboardPanel[];
  templating?: { list?: DashboardVariable[] };
  annotations?: { list?: DashboardAnnotation[] };
  [key: string]: unknown;
}

export interface GrafanaAlertQuery {
  refId: string;
  datasourceUid: string;
  relativeTimeRange?: { from: number; to: number };
  model: { refId?: string; expr?: string; type?: string; expression?: string; [key: string]: unknown };
}

export interface GrafanaAlertRule {
  uid: string;
  title: string;
  condition: string;
  data: GrafanaAlertQuery[];
  for?: string;
  noDataState?: string;
  execErrState?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface GrafanaAlertGroup {
  orgId?: number;
  name: string;
  folder: string;
  interval: string;
  rules: GrafanaAlertRule[];
}

export interface GrafanaAlertFile {
  apiVersion: number;
  groups: GrafanaAlertGroup[];
}

export interface PrometheusAlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface DashboardQuery {
  /** Where the query lives, e.g. `breakerbox-overview.json panel 5 "..." target A`. */
  source: string;
  /** PromQL that Prometheus accepts as is: Grafana variables substituted. */
  expr: string;
}

/** Every dashboard JSON file under grafana/dashboards, parsed. */
export function loadDashboards(): { file: string; dashboard: Dashboard }[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({
      file: path.join(DASHBOARDS_DIR, name),
      dashboard: JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, name), 'utf8')) as Dashboard,
    }));
}

/** All panels of a dashboard, including those nested in (collapsed) rows. */
export function flattenPanels(panels: DashboardPanel[] | undefined): DashboardPanel[] {
  const out: DashboardPanel[] = [];
  for (const panel of panels ?? []) {
    out.push(panel);
    out.push(...flattenPanels(panel.panels));
  }
  return out;
}

export function loadGrafanaAlerts(): GrafanaAlertFile {
  return parseYaml(readFileSync(GRAFANA_ALERTS_FILE, 'utf8')) as GrafanaAlertFile;
}

export function loadPrometheusAlerts(): PrometheusAlertRule[] {
  const doc = parseYaml(readFileSync(PROMETHEUS_ALERTS_FILE, 'utf8')) as {
    groups: { name: string; rules: (PrometheusAlertRule & { record?: string })[] }[];
  };
  return doc.groups.flatMap((group) => group.rules.filter((rule) => typeof rule.alert === 'string'));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replaces Grafana's variables in a PromQL string by values Prometheus accepts:
 * interval/range built-ins by durations, the dashboard's own variables by `.*`.
 * Handles the `$name`, `${name}`, `${name:format}` and `[[name]]` spellings.
 */
export function substituteGrafanaVariables(expr: string, variableNames: readonly string[] = []): string {
  let out = expr;
  const replace = (name: string, value: string): void => {
    const n = escapeRegExp(name);
    out = out
      .replace(new RegExp(`\\$\\{${n}(?::[^}]*)?\\}`, 'g'), value)
      .replace(new RegExp(`\\[\\[${n}(?::[^\\]]*)?\\]\\]`, 'g'), value)
      .replace(new RegExp(`\\$${n}(?![A-Za-z0-9_])`, 'g'), value);
  };
  for (const [name, value] of Object.entries(BUILTIN_SUBSTITUTES)) replace(name, value);
  for (const name of variableNames) replace(name, VARIABLE_SUBSTITUTE);
  return out;
}

/**
 * Every PromQL expression in the Grafana dashboards (panel targets and annotation
 * queries) and in the Grafana-managed alert rules (queries on the Prometheus
 * datasource), with Grafana variables substituted so Prometheus accepts them.
 */
export function collectDashboardQueries(): DashboardQuery[] {
  const queries: DashboardQuery[] = [];

  for (const { file, dashboard } of loadDashboards()) {
    const base = path.basename(file);
    const variableNames = (dashboard.templating?.list ?? []).map((v) => v.name);
    for (const panel of flattenPanels(dashboard.panels)) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr !== 'string' || target.expr.trim() === '') continue;
        queries.push({
          source: `${base} panel ${panel.id} "${panel.title}" target ${target.refId}`,
          expr: substituteGrafanaVariables(target.expr, variableNames),
        });
      }
    }
    for (const annotation of dashboard.annotations?.list ?? []) {
      if (typeof annotation.expr !== 'string' || annotation.expr.trim() === '') continue;
      queries.push({
        source: `${base} annotation "${annotation.name}"`,
        expr: substituteGrafanaVariables(annotation.expr, variableNames),
      });
    }
  }

  const alerts = loadGrafanaAlerts();
  for (const group of alerts.groups) {
    for (const rule of group.rules) {
      for (const query of rule.data) {
        if (query.datasourceUid !== PROMETHEUS_DATASOURCE_UID || typeof query.model.expr !== 'string') continue;
        queries.push({
          source: `${path.basename(GRAFANA_ALERTS_FILE)} rule ${rule.title} query ${query.refId}`,
          expr: substituteGrafanaVariables(query.model.expr),
        });
      }
    }
  }

  return queries;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { loadConfig, type BreakerboxConfig } from '../config';
import { registry as processRegistry, type BreakerRegistry } from '../registry';
import { logLine } from '../telemetry/transition-log';
import type { Members } from './cluster-routes';
import { createMonitoringServer, type MonitoringServer } from './monitoring-server';

export interface StartMonitoringServerOptions {
  /** Default: the process-wide `registry`. */
  registry?: BreakerRegistry;
  /** Default: the registry's configuration, else `loadConfig()`. Gives host, port and log level. */
  config?: BreakerboxConfig;
  /** Default: `config.monitoring.host` / `.port` (0 picks a free port). */
  host?: string;
  port?: number;
  /**
   * Serves `GET /metrics`, e.g. `(req, res) => exporter.getMetricsRequestHandler(req, res)` of
   * a PrometheusExporter created with `preventServerStart: true`. Without it /metrics answers
   * 503 with `metricsNote`.
   */
  metricsHandler?: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  /** Why /metrics is not served here; said in the startup line and the 503 answer. */
  metricsNote?: string;
  /** Default: BREAKERBOX_ADMIN_TOKEN (trimmed). Admin routes answer 401 without one. */
  adminToken?: string;
  /** Set when breakerbox is switched off: health answers 200 with this reason. */
  disabledReason?: string;
  /** Cluster workers and worker threads served on this port (the preload's cluster hub). */
  members?: Members | null;
  /** The startup line's message and extra fields. */
  startedMessage?: string;
  startedFields?: Record<string, unknown>;
}

export interface RunningMonitoringServer extends MonitoringServer {
  /** The bound port once listening, or null if it could not listen (a warning was logged). */
  readonly port: Promise<number | null>;
}

/**
 * Starts the monitoring HTTP server (health, JSON stats, admin and, when given a handler,
 * /metrics) and logs one line saying what it really serves. `breakerbox/register` calls it;
 * apps that add BreakerboxInstrumentation to their own NodeSDK call it themselves.
 * A port that cannot be bound is a warning, never a crash: the app keeps its breakers.
 */
export function startMonitoringServer(options: StartMonitoringServerOptions = {}): RunningMonitoringServer {
  const registry = options.registry ?? processRegistry;
  const config = options.config ?? registry.configuration ?? loadConfig();
  // Health is read before the first call: list every module breaker from the start, as the
  // preload does (manual breakers appear when the app creates them).
  if (config.enabled && registry.configuration === config) {
    for (const b of config.breakers) if (b.module !== 'manual') registry.entry(b.name);
  }
  const host = options.host ?? config.monitoring.host;
  const metricsHandler = options.metricsHandler ?? null;
  const metricsNote = options.metricsNote ?? 'not served here: pass a metricsHandler to serve it';
  const monitoring = createMonitoringServer({
    registry,
    metricsHandler,
    metricsNote,
    disabledReason: options.disabledReason,
    members: options.members ?? null,
    // HTTP trims header values, so surrounding whitespace (the newline a secret file ends
    // with) could never be sent back: it is not part of the token.
    adminToken: options.adminToken ?? (process.env.BREAKERBOX_ADMIN_TOKEN?.trim() || undefined),
    host,
    port: options.port ?? config.monitoring.port,
  });
  const level = config.monitoring.logLevel;
  const port = monitoring.listen().then(
    (bound) => {
      const base = `http://${host}:${bound}`;
      logLine(level, 'info', options.startedMessage ?? 'breakerbox monitoring server started', {
        ...options.startedFields,
        health: `${base}/health/circuit-breakers`,
        metrics: metricsHandler ? `${base}/metrics` : metricsNote,
      });
      return bound;
    },
    (err: NodeJS.ErrnoException) => {
      logLine(
        level,
        'warn',
        `breakerbox: monitoring server could not listen on ${host}:${options.port ?? config.monitoring.port} (${err.code ?? err.message}); the app keeps running with its breakers, without /metrics and health routes`,
      );
      return null;
    },
  );
  return { ...monitoring, port };
}

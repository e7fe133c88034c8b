import type { NodeSDK } from '@opentelemetry/sdk-node';
import { isMainThread } from 'node:worker_threads';
import { ConfigError, loadConfig, type BreakerboxConfig } from './config';
import { moduleCoverage } from './config/coverage';
import { startFleet } from './fleet/preload';
import type { GuardSwitch } from './instrumentation/module-hooks';
import { startModuleHooks } from './instrumentation/preload-hooks';
import { startTelemetry } from './on-demand';
import { registry } from './registry';
import { type MonitoringServer } from './server/monitoring-server';
import { startMonitoringServer, type StartMonitoringServerOptions } from './server/start-monitoring';
import { joinClusterHub, joinsHub, startClusterHub } from './cluster';
import { logLine } from './telemetry/transition-log';
import { exporterNames } from './telemetry/metric-readers';
import { startPipeline, type Pipeline } from './telemetry/pipeline';

export interface Started {
  config: BreakerboxConfig;
  /**
   * The preload's module patches (disable() undoes them, enable() redoes them). Not an
   * InstrumentationBase: the preload hooks modules itself, so it loads neither the
   * OpenTelemetry API nor @opentelemetry/instrumentation for that; null when disabled.
   */
  instrumentation: GuardSwitch | null;
  /** The NodeSDK, started when OTEL_TRACES_EXPORTER or OTEL_LOGS_EXPORTER asks for traces or logs; null otherwise. */
  sdk: NodeSDK | null;
  monitoring: MonitoringServer | null;
  /** Resolves with the monitoring port once listening, or null if it could not listen. */
  monitoringPort: Promise<number | null>;
  shutdown(): Promise<void>;
}

const STARTED = Symbol.for('breakerbox.started');
type WithStarted = typeof globalThis & { [STARTED]?: Started };

function envFlag(name: string): boolean {
  return /^(true|1|yes)$/i.test(process.env[name] ?? '');
}

/** Loads the config or ends the process with its messages (no stack trace: nothing to debug). */
function configOrExit(): BreakerboxConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

/**
 * What `breakerbox/register` runs: config, patching, OpenTelemetry SDK, monitoring server,
 * signal-driven shutdown. Idempotent, so `--require` and `--import` together start once.
 */
export function startBreakerbox(): Started {
  const g = globalThis as WithStarted;
  if (g[STARTED]) return g[STARTED];
  const config = configOrExit();
  registry.configure(config);
  const log = (level: 'info' | 'warn', msg: string, extra: Record<string, unknown> = {}): void =>
    logLine(config.monitoring.logLevel, level, msg, extra);

  if (!config.enabled) {
    const reason = 'breakerbox is disabled by configuration (circuit_breakers.enabled: false): nothing is patched';
    const off =
      config.monitoring.enabled && isMainThread
        ? startMonitoringServer({
            registry,
            config,
            disabledReason: reason,
            startedMessage: reason,
            metricsNote: 'not served: breakerbox is disabled',
            startedFields: { config: config.source ?? 'built-in defaults', ...moduleCoverage(config) },
          })
        : null;
    if (!off) log('info', reason, { config: config.source });
    return (g[STARTED] = {
      config,
      instrumentation: null,
      sdk: null,
      monitoring: off,
      monitoringPort: off?.port ?? Promise.resolve(null),
      shutdown: async () => off?.close(),
    });
  }

  // Operators look at health and metrics before the first call: list every configured module
  // breaker from startup. Manual breakers are still built by the app's registry.get(name,
  // options), which is where their functions (fallback, isFailure) come from.
  for (const b of config.breakers) if (b.module !== 'manual') registry.entry(b.name);

  const sdkDisabled = envFlag('OTEL_SDK_DISABLED');
  // OTEL_SDK_DISABLED keeps the breakers, health routes and log lines, and loads no SDK.
  const pipeline = sdkDisabled
    ? null
    : startPipeline({
        registry,
        prometheus: config.monitoring.enabled,
        env: process.env,
        warn: (msg) => log('warn', `breakerbox: ${msg}`),
      });
  startTelemetry({ registry, logLevel: config.monitoring.logLevel, callSpans: config.tracing.callSpans });
  // Last, so the hooks see the app's modules and none of breakerbox's own requires.
  const instrumentation = startModuleHooks(config, registry);

  let monitoring: MonitoringServer | null = null;
  let monitoringPort: Promise<number | null> = Promise.resolve(null);
  // Worker threads run --require preloads too, and so does Node 20's module-hooks thread when
  // any --import registers hooks. One port, one owner: the app's main thread, whose registry
  // holds the app's breakers. Signals are only delivered there as well.
  // Cluster workers and worker threads hand their breakers to the process that owns the port.
  if (joinsHub()) joinClusterHub(registry);
  else if (config.monitoring.enabled && isMainThread) {
    const served = startMonitoringServer({
      registry,
      config,
      members: startClusterHub(pipeline?.prometheus ? pipeline.producer : null),
      metricsHandler: metricsHandler(pipeline),
      metricsNote: sdkDisabled ? 'not served: OTEL_SDK_DISABLED=true' : undefined,
      startedMessage: 'breakerbox started',
      startedFields: {
        breakers: config.breakers.map((b) => b.name),
        config: config.source ?? 'built-in defaults',
        ...moduleCoverage(config),
      },
    });
    monitoring = served;
    monitoringPort = served.port;
  }

  const fleet = isMainThread ? startFleet(config, registry, log) : null;
  let stopping: Promise<void> | null = null;
  const shutdown = (): Promise<void> =>
    (stopping ??= Promise.all([pipeline?.shutdown().catch(() => undefined), monitoring?.close(), fleet?.stop()]).then(() => undefined));
  // Signal listeners are only worth adding when something would be lost without a flush
  // (spans or metrics pushed to a collector): apps count process listeners, and with only
  // the pull endpoint there is nothing to flush.
  if (isMainThread && pipeline !== null && pushesTelemetry(process.env)) installSignalShutdown(shutdown);
  return (g[STARTED] = { config, instrumentation, sdk: pipeline?.sdk ?? null, monitoring, monitoringPort, shutdown });
}

function metricsHandler(pipeline: Pipeline | null): StartMonitoringServerOptions['metricsHandler'] {
  const exporter = pipeline?.prometheus;
  return exporter ? (req, res) => exporter.getMetricsRequestHandler(req, res) : null;
}

function pushesTelemetry(env: NodeJS.ProcessEnv): boolean {
  const pushing = (v: string | undefined): boolean => exporterNames(v).some((x) => x !== 'none' && x !== 'prometheus');
  return pushing(env.OTEL_TRACES_EXPORTER) || pushing(env.OTEL_METRICS_EXPORTER) || pushing(env.OTEL_LOGS_EXPORTER);
}

/**
 * Flushes telemetry on SIGTERM/SIGINT. A signal listener disables Node's default "exit on
 * signal", so when the app has no listener of its own the signal is raised again after the
 * flush and the process ends exactly as it would have without us.
 */
function installSignalShutdown(shutdown: () => Promise<void>): void {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      const appHandlesIt = process.listenerCount(signal) > 0;
      const finish = (): void => {
        if (!appHandlesIt) process.kill(process.pid, signal);
      };
      const timer = setTimeout(finish, 2000);
      timer.unref();
      void shutdown().finally(() => {
        clearTimeout(timer);
        finish();
      });
    });
  }
}

import { Problems } from './problems';
import { validateSection } from './section';
import { fromPlain } from './tree';
import type { BreakerboxConfig, ConfigEnvOptions } from './types';

/**
 * The example document of DESIGN.md, used when there is no config file. Kept as data
 * and run through the same validation as a file, so defaults cannot drift from what a
 * file would produce. `monitoring.port`/`host` are deliberately absent: left silent, the
 * OTEL_EXPORTER_PROMETHEUS_PORT/_HOST variables apply, as they would for a file
 * (the fallbacks are the documented 9464 and 0.0.0.0).
 */
function defaultSection(): Record<string, unknown> {
  return {
    enabled: true,
    default_failure_threshold: 5,
    default_timeout: 60,
    database: { failure_threshold: 3, timeout: 30, operations: ['connect', 'query'] },
    nats: { failure_threshold: 2, timeout: 10, operations: ['connect', 'publish', 'request', 'flush'] },
    websocket: { failure_threshold: 5, timeout: 15, operations: ['connect', 'send'] },
    file_system: {
      failure_threshold: 5,
      timeout: 60,
      operations: ['readFile', 'writeFile', 'appendFile', 'open', 'stat', 'readdir'],
      paths: ['./data/**'],
    },
    monitoring: { enabled: true, log_level: 'info' },
  };
}

/**
 * The built-in configuration (`source: null`). Throws ConfigError only when an
 * OTEL_EXPORTER_PROMETHEUS_* variable it relies on is invalid.
 */
export function defaultConfig(opts: ConfigEnvOptions = {}): BreakerboxConfig {
  const problems = new Problems(null);
  const config = validateSection(fromPlain(defaultSection()), '', {
    source: null,
    env: opts.env ?? process.env,
    cwd: opts.cwd ?? process.cwd(),
    problems,
  });
  problems.throwIfAny();
  return config;
}

/**
 * A file lists what it changes, not everything to guard: a module whose breaker the file
 * does not configure keeps its built-in breaker, so a file that only tunes `database` does
 * not leave nats, ws and fs unguarded without a word. Turning one off is explicit
 * (`mode: disabled`). The built-in breakers keep their own settings, not the file's
 * `default_*` values, and come after the file's breakers.
 */
export function withBuiltInModules(config: BreakerboxConfig, opts: ConfigEnvOptions = {}): BreakerboxConfig {
  const named = new Set(config.breakers.map((b) => b.module));
  const missing = defaultConfig({ ...opts, env: {} }).breakers.filter((b) => !named.has(b.module));
  return missing.length === 0 ? config : { ...config, breakers: [...config.breakers, ...missing] };
}

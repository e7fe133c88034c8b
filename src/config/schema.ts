import { MAX_WINDOW_SIZE } from '../core/options';
import type { LogLevel, ModuleName } from './types';

export const MODULE_NAMES: readonly ModuleName[] = ['pg', 'nats', 'ws', 'fs', 'manual'];

/**
 * Operations each patcher can guard. One name covers every form of the call: `writeFile`
 * is `fs.writeFile`, `fs.promises.writeFile` and (with `sync: true`) `fs.writeFileSync`.
 * Manual breakers have none: the app names its own with `app_operations`.
 */
export const VALID_OPERATIONS: Readonly<Record<ModuleName, readonly string[]>> = {
  pg: ['connect', 'query'],
  nats: ['connect', 'publish', 'request', 'flush', 'subscribe'],
  ws: ['connect', 'send'],
  fs: [
    'readFile',
    'writeFile',
    'appendFile',
    'open',
    'stat',
    'lstat',
    'readdir',
    'mkdir',
    'rm',
    'rmdir',
    'unlink',
    'rename',
    'copyFile',
    'access',
  ],
  manual: [],
};

/** Breaker names that need no `module:` key. */
export const IMPLIED_MODULES: Readonly<Record<string, ModuleName>> = {
  database: 'pg',
  nats: 'nats',
  websocket: 'ws',
  file_system: 'fs',
};

export const MODES = ['enforce', 'metrics_only', 'disabled', 'forced_open'] as const;
export type ConfigMode = (typeof MODES)[number];

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** Breaker names become the `breaker` metric label and part of admin URLs. */
export const BREAKER_NAME_RE = /^[a-z][a-z0-9_]*$/i;

/** `app_operations` become the `operation` metric label. */
export const APP_OPERATION_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
export const MAX_APP_OPERATION_LENGTH = 64;
/** Labels must come from a bounded set; past this it is a sign of ids leaking into names. */
export const MAX_APP_OPERATIONS = 64;

export const SECTION_KEY = 'circuit_breakers';

/** Keys of the section that are not breaker names. */
export const SECTION_KEYS = ['enabled', 'default_failure_threshold', 'default_timeout', 'monitoring', 'tracing', 'fleet'] as const;

export const MONITORING_KEYS = ['enabled', 'port', 'host', 'log_level'] as const;
export const TRACING_KEYS = ['call_spans'] as const;
export const FLEET_KEYS = ['enabled', 'url', 'name', 'quorum', 'heartbeat', 'breakers'] as const;

export const BREAKER_KEYS = [
  'module',
  'mode',
  'failure_threshold',
  'timeout',
  'max_timeout',
  'half_open_max_calls',
  'success_threshold',
  'trial_timeout',
  'failure_rate',
  'window',
  'window_size',
  'minimum_calls',
  'slow_call_duration',
  'slow_call_rate',
  'call_timeout',
  'operations',
  'app_operations',
  'paths',
  'per_target',
  'max_targets',
  'sync',
  'max_buffered_amount',
  'reconnect_failures',
  'concurrency',
] as const;

/** Keys that mean something for one module only. */
export const MODULE_ONLY_KEYS: Readonly<Record<string, ModuleName>> = {
  paths: 'fs',
  sync: 'fs',
  max_buffered_amount: 'ws',
  reconnect_failures: 'nats',
};

/**
 * Spellings people bring from the core API or other breaker libraries, mapped to our key,
 * so the did-you-mean hint catches what edit distance cannot.
 */
export const BREAKER_KEY_ALIASES: Readonly<Record<string, string>> = {
  resetTimeoutMs: 'timeout',
  resetTimeout: 'timeout',
  maxResetTimeoutMs: 'max_timeout',
  maxResetTimeout: 'max_timeout',
  trialTimeoutMs: 'trial_timeout',
  windowMs: 'window',
  slowCallMs: 'slow_call_duration',
  slowCallDuration: 'slow_call_duration',
  callTimeoutMs: 'call_timeout',
  enabled: 'mode',
  disabled: 'mode',
};

/**
 * Upper bounds of the numeric keys (durations are bounded in duration.ts, rates by 1). Each
 * is far above any useful setting; past it a value is a typo or a unit mix-up, and some
 * (window_size, max_targets) would cost memory or metric series in proportion.
 */
export const MAX_FAILURE_THRESHOLD = 1_000_000;
export const MAX_TRIAL_CALLS = 10_000;
export { MAX_WINDOW_SIZE };
export const MAX_MINIMUM_CALLS = 1_000_000;
export const MAX_TARGETS = 10_000;
export const MAX_BUFFERED_AMOUNT = 2 ** 30;
export const MAX_RECONNECT_FAILURES = 1_000;

export const DEFAULT_FAILURE_THRESHOLD = 5;
export const DEFAULT_RESET_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_TARGETS = 100;
export const DEFAULT_MAX_BUFFERED_AMOUNT = 1024 * 1024;
/**
 * Failed reconnect attempts in a row after which a nats connection's outage opens the breaker:
 * with nats.js's default 2 s between attempts, about 4 s. A restart or a failover that the
 * client rides out in one or two attempts is a blip, not an outage.
 */
export const DEFAULT_RECONNECT_FAILURES = 3;
export const DEFAULT_MONITORING_PORT = 9464;
export const DEFAULT_MONITORING_HOST = '0.0.0.0';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_FLEET_URL = 'nats://127.0.0.1:4222';
export const DEFAULT_FLEET_QUORUM = 2;
export const DEFAULT_FLEET_HEARTBEAT_MS = 1000;
/** Below this the heartbeats alone would be a noticeable load on NATS for a large fleet. */
export const MIN_FLEET_HEARTBEAT_MS = 100;

export const ENV_CONFIG = 'BREAKERBOX_CONFIG';
export const ENV_PROMETHEUS_PORT = 'OTEL_EXPORTER_PROMETHEUS_PORT';
export const ENV_PROMETHEUS_HOST = 'OTEL_EXPORTER_PROMETHEUS_HOST';
export const ENV_NATS_URL = 'NATS_URL';
export const ENV_SERVICE_NAME = 'OTEL_SERVICE_NAME';

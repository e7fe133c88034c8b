import type { CircuitBreakerOptions } from '../core/types';

/** The library a breaker guards; `manual` breakers guard whatever the app wraps in them. */
export type ModuleName = 'pg' | 'nats' | 'ws' | 'fs' | 'manual';

/** Level of the structured transition log. `silent` turns it off. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/**
 * Core breaker options a config file can set. The rest (`name`, `isFailure`, `fallback`,
 * `now`, `initialState`) are supplied in code by whoever builds the breaker.
 */
export type BreakerOptionsConfig = Omit<CircuitBreakerOptions, 'name' | 'isFailure' | 'fallback' | 'now' | 'initialState'>;

/** One breaker from the `circuit_breakers:` section. */
export interface BreakerConfig {
  /** The YAML key; also the `breaker` metric label, so it matches /^[a-z][a-z0-9_]*$/i. */
  readonly name: string;
  /**
   * `database`→pg, `nats`→nats, `websocket`→ws and `file_system`→fs are implied by the name;
   * any other name says `module:`, and without it is a `manual` breaker.
   */
  readonly module: ModuleName;
  /**
   * Operations of the module to guard (`operations:`), each covering every form of the call
   * (callback, promise, and sync when `syncCalls`). `null`: every operation of the module.
   * Always `null` for manual breakers.
   */
  readonly operations: string[] | null;
  /** `app_operations:`: operation names the app may pass to `withOperation()`; metric labels. Default []. */
  readonly appOperations: string[];
  /** fs only (`paths:`): absolute globs; only fs calls on matching paths are guarded. [] elsewhere. */
  readonly paths: string[];
  /** `per_target:` one child breaker per target. Default false, true for the ws module. */
  readonly perTarget: boolean;
  /** `max_targets:` cap on per-target children. Default 100. */
  readonly maxTargets: number;
  /** fs only (`sync:`): also guard the `*Sync` forms. Default false. */
  readonly syncCalls: boolean;
  /**
   * ws only (`max_buffered_amount:`, bytes): a send/broadcast that finds `bufferedAmount` above
   * this counts as a slow call. Default 1 MiB for ws breakers, `null` for every other module.
   */
  readonly maxBufferedAmount: number | null;
  /**
   * nats only (`reconnect_failures:`): failed reconnect attempts in a row (of one connection,
   * after it lost its server) that open the breaker. Default 3 for nats breakers, `null` for
   * every other module.
   */
  readonly reconnectFailures: number | null;
  /**
   * Core options, camelCase and in ms. Holds only what the file set, plus `failureThreshold`
   * and `resetTimeoutMs`, which always come from the section defaults when not set.
   */
  readonly options: BreakerOptionsConfig;
  /** `mode: disabled`: calls go straight through, nothing is counted. `options.mode` is then 'enforce'. */
  readonly disabled: boolean;
  /** `mode: forced_open`: every call is rejected until an operator closes it. `options.mode` is then 'enforce'. */
  readonly forcedOpen: boolean;
}

/** The validated configuration, ready for the registry, the patchers and the monitoring server. */
export interface BreakerboxConfig {
  /**
   * `enabled:` default true. `false` is the rollback switch: nothing is patched. The rest of
   * the file is still validated and returned.
   */
  readonly enabled: boolean;
  /** Absolute path of the file read, or `null` for the built-in defaults. */
  readonly source: string | null;
  /** For breakers the file does not configure (e.g. `registry.get('x')`). */
  readonly defaults: {
    /** `default_failure_threshold:` default 5. */
    readonly failureThreshold: number;
    /** `default_timeout:` in ms, default 60000. */
    readonly resetTimeoutMs: number;
  };
  /** Configured breakers, in file order. */
  readonly breakers: BreakerConfig[];
  readonly monitoring: {
    /** Default true. */
    readonly enabled: boolean;
    /** The file, else OTEL_EXPORTER_PROMETHEUS_PORT, else 9464. */
    readonly port: number;
    /** The file, else OTEL_EXPORTER_PROMETHEUS_HOST, else 0.0.0.0. */
    readonly host: string;
    /** Default 'info'. */
    readonly logLevel: LogLevel;
  };
  readonly tracing: {
    /** `tracing.call_spans:` one span per guarded call. Default false. */
    readonly callSpans: boolean;
  };
  /** `fleet:` breakers that coordinate across the instances of a service (DESIGN.md section 5). */
  readonly fleet: FleetConfig;
}

/** The `fleet:` section, validated. Read only when `enabled`; always present. */
export interface FleetConfig {
  /** Default false: nothing of fleet mode runs and the `nats` package is not needed. */
  readonly enabled: boolean;
  /** NATS server(s), comma-separated. The file, else NATS_URL, else nats://127.0.0.1:4222. */
  readonly url: string;
  /**
   * The fleet (one NATS subject token): the file, else OTEL_SERVICE_NAME. Required when
   * enabled; '' when disabled and neither says.
   */
  readonly name: string;
  /**
   * Members that must hold a breaker open on their own evidence before the others open it.
   * Either a count (>= 2, default 2) or a percentage of the current members (then never
   * fewer than 2): exactly one of the two is set.
   */
  readonly quorum: { readonly count: number; readonly percent: null } | { readonly count: null; readonly percent: number };
  /** `heartbeat:` in ms, default 1000; a member silent for 3 heartbeats has left. */
  readonly heartbeatMs: number;
  /** Breakers shared with the fleet. Default: every configured breaker but the nats one. */
  readonly breakers: string[];
}

/** One thing wrong with a configuration; `ConfigError` carries all of them. */
export interface ConfigProblem {
  /** The file at fault, or `null` when the environment (or built-in defaults) is. */
  readonly file: string | null;
  /** 1-based line in `file`, when known. */
  readonly line: number | null;
  /**
   * Dotted key path as written in the document (`circuit_breakers.database.timeout`, or
   * `database.timeout` when the section is the whole document; `operations[2]` for list
   * items); the variable name for environment problems; '' for the file as a whole.
   */
  readonly path: string;
  /** The offending value as parsed (for unknown keys: the value under that key). */
  readonly value: unknown;
  /** What would have been accepted, in words. */
  readonly expected: string;
  /** One line for people: `file:line: path: got X, expected Y`. */
  readonly message: string;
}

/** Where to look and what to resolve against. */
export interface ConfigEnvOptions {
  /** Default process.env. Read: BREAKERBOX_CONFIG, OTEL_EXPORTER_PROMETHEUS_PORT/_HOST. */
  env?: NodeJS.ProcessEnv;
  /** Base for relative file and glob paths. Default process.cwd(). */
  cwd?: string;
}

export interface LoadConfigOptions extends ConfigEnvOptions {
  /** Read this file; wins over BREAKERBOX_CONFIG and ./breakerbox.yaml. */
  path?: string;
}

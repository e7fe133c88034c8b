export { CircuitBreaker, BreakerOpenError, BreakerTimeoutError, BreakerOptionsError, ConcurrencyLimitError } from './core';
export type {
  BreakerState,
  BreakerMode,
  Outcome,
  TransitionReason,
  CircuitBreakerOptions,
  BreakerSnapshot,
  ErrorVerdict,
  StateChangeEvent,
  CallEvent,
  BreakerEvents,
  ConcurrencyInput,
} from './core';
export {
  BreakerRegistry,
  registry,
  type ManagedBreaker,
  type BreakerHealth,
  type BreakerStatsSnapshot,
  type RegistryGetOptions,
  type OperationFallbacks,
} from './registry';
export { loadConfig, parseConfig, defaultConfig } from './config/on-demand';
export { ConfigError } from './config/errors';
export type { BreakerboxConfig, BreakerConfig, ConfigProblem } from './config';
export { BreakerboxInstrumentation, type BreakerboxInstrumentationConfig } from './instrumentation/instrumentation';
export { withOperation } from './registry/app-operation';
export { BreakerboxMetricProducer } from './telemetry/histogram-producer';
export { startBreakerbox, startMonitoringServer, startTelemetry } from './on-demand';
export type { StartMonitoringServerOptions, RunningMonitoringServer } from './server/start-monitoring';
export { VERSION } from './version';

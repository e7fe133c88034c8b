/**
 * Configuration: finds and validates the YAML file (DESIGN.md, "Configuration (YAML)")
 * and maps it onto core breaker options. Pure: importing it does nothing, and the only
 * I/O is reading the file in loadConfig.
 */
export { loadConfig } from './load';
export { parseConfig } from './parse';
export { defaultConfig } from './defaults';
export { ConfigError } from './errors';
export { parseDuration, DURATION_EXPECTED, MAX_DURATION_MS, type DurationResult } from './duration';
export { compilePathMatcher, resolveGlob } from './paths';
export { VALID_OPERATIONS, IMPLIED_MODULES, MODULE_NAMES } from './schema';
export type {
  BreakerConfig,
  BreakerboxConfig,
  BreakerOptionsConfig,
  ConfigEnvOptions,
  ConfigProblem,
  FleetConfig,
  LoadConfigOptions,
  LogLevel,
  ModuleName,
} from './types';

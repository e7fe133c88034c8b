/* eslint-disable @typescript-eslint/no-require-imports */
import type { BreakerboxConfig, ConfigEnvOptions, LoadConfigOptions } from './types';

/*
 * The config functions the library entry exports, each loading the config modules on first
 * call: `require('breakerbox')` for a CircuitBreaker builds no configuration, and those
 * modules are a third of the files it would otherwise load (DESIGN.md, "What loading costs").
 */

/** See load.ts. */
export function loadConfig(opts: LoadConfigOptions = {}): BreakerboxConfig {
  return (require('./load') as typeof import('./load')).loadConfig(opts);
}

/** See parse.ts. */
export function parseConfig(text: string, file: string, opts: ConfigEnvOptions = {}): BreakerboxConfig {
  return (require('./parse') as typeof import('./parse')).parseConfig(text, file, opts);
}

/** See defaults.ts. */
export function defaultConfig(opts: ConfigEnvOptions = {}): BreakerboxConfig {
  return (require('./defaults') as typeof import('./defaults')).defaultConfig(opts);
}

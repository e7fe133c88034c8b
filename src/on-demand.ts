/* eslint-disable @typescript-eslint/no-require-imports */
import type { RunningMonitoringServer, StartMonitoringServerOptions } from './server/start-monitoring';
import type { Started } from './start';
import type { TelemetryOptions } from './telemetry';

/*
 * The public functions that start OpenTelemetry or a server. Each loads its module on first
 * call, so `require('breakerbox')` for a CircuitBreaker loads neither the API, the SDK nor
 * node:http (DESIGN.md, "What loading costs is part of the contract").
 */

/** What `breakerbox/register` runs; see start.ts. */
export function startBreakerbox(): Started {
  return (require('./start') as typeof import('./start')).startBreakerbox();
}

/** Connects the registry's breakers to OpenTelemetry; see telemetry/index.ts. */
export function startTelemetry(options: TelemetryOptions): void {
  (require('./telemetry') as typeof import('./telemetry')).startTelemetry(options);
}

/** The monitoring HTTP server, for apps with their own NodeSDK; see server/start-monitoring.ts. */
export function startMonitoringServer(options: StartMonitoringServerOptions = {}): RunningMonitoringServer {
  return (require('./server/start-monitoring') as typeof import('./server/start-monitoring')).startMonitoringServer(options);
}

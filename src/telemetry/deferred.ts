/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * OpenTelemetry packages loaded when first needed, typed as their static imports would be.
 * `require('breakerbox')` must not load the SDK (DESIGN.md, "What loading costs"), so code
 * that the library entry reaches only names these packages in types and calls these
 * functions from the paths that run once a pipeline exists (collection, start-up).
 */
export const otelApi = (): typeof import('@opentelemetry/api') => require('@opentelemetry/api') as typeof import('@opentelemetry/api');
export const otelCore = (): typeof import('@opentelemetry/core') => require('@opentelemetry/core') as typeof import('@opentelemetry/core');
export const resources = (): typeof import('@opentelemetry/resources') =>
  require('@opentelemetry/resources') as typeof import('@opentelemetry/resources');
export const sdkMetrics = (): typeof import('@opentelemetry/sdk-metrics') =>
  require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
export const exporterPrometheus = (): typeof import('@opentelemetry/exporter-prometheus') =>
  require('@opentelemetry/exporter-prometheus') as typeof import('@opentelemetry/exporter-prometheus');

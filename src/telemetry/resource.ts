import {
  defaultResource,
  detectResources,
  envDetector,
  osDetector,
  processDetector,
  serviceInstanceIdDetector,
  type Resource,
  type ResourceDetector,
} from '@opentelemetry/resources';
import { DeferredHostDetector } from './host-detector';
import { exporterNames } from './metric-readers';

/** OTEL_NODE_RESOURCE_DETECTORS names, in the order NodeSDK runs them for `all`. */
const hostDetector = new DeferredHostDetector();
const DETECTORS: Record<string, ResourceDetector> = {
  host: hostDetector,
  os: osDetector,
  serviceinstance: serviceInstanceIdDetector,
  process: processDetector,
  env: envDetector,
};

/**
 * The resource NodeSDK would give the meter provider (service name and attributes from
 * OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, process and host), so `target_info` and
 * pushed metrics look the same whichever pipeline the preload builds.
 */
export function resourceFromEnv(env: NodeJS.ProcessEnv, warn: (msg: string) => void): Resource {
  return defaultResource().merge(detectResources({ detectors: detectorsFromEnv(env, warn) }));
}

function detectorsFromEnv(env: NodeJS.ProcessEnv, warn: (msg: string) => void): ResourceDetector[] {
  const names = exporterNames(env.OTEL_NODE_RESOURCE_DETECTORS);
  if (names.length === 0) return [envDetector, processDetector, hostDetector];
  if (names.includes('all')) return Object.values(DETECTORS);
  if (names.includes('none')) return [];
  return names.flatMap((name) => {
    const detector = DETECTORS[name];
    if (!detector)
      warn(`OTEL_NODE_RESOURCE_DETECTORS: unknown detector "${name}" ignored (expected ${Object.keys(DETECTORS).join(', ')}, all or none)`);
    return detector ? [detector] : [];
  });
}

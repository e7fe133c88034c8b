import { BreakerRegistry } from './registry';

export { BreakerRegistry, type ManagedBreaker, type RegistryGetOptions } from './registry';
export type { OperationFallbacks } from './operation-fallbacks';
export { TransitionCounts } from './transition-counts';
export { FLEET_ADMIN_ACTIONS, type FleetAdminAction, type FleetBreakerStatus, type FleetLink } from './fleet-link';
export { CallStats, OperationStats, DURATION_BUCKETS_S, RECOVERY_BUCKETS_S } from './call-stats';
export {
  healthOf,
  statsOf,
  isUnhealthy,
  refusesCalls,
  healthReport,
  HEALTH_SCOPES,
  type HealthScope,
  type TargetsRollup,
  type BreakerHealth,
  type BreakerStatsSnapshot,
  type FleetHealth,
} from './health';

const KEY = Symbol.for('breakerbox.registry');
type WithRegistry = typeof globalThis & { [KEY]?: BreakerRegistry };

/**
 * The process-wide registry. Kept on globalThis so that the CommonJS and ES-module faces of
 * the package (or two installed copies) agree on one set of breakers.
 */
export const registry: BreakerRegistry = ((globalThis as WithRegistry)[KEY] ??= new BreakerRegistry());
export { applyAdmin, ADMIN_ACTIONS, type AdminAction, type AdminOutcome } from './admin';

import type { ModuleDefinition } from './module-definition';
import type { ModuleName } from '../config';
import type { ModuleGuard } from './module-guard';

/**
 * One file per guarded library exports a Patcher: given the guard for its configured
 * breaker, it returns the module definitions (patch/unpatch) the instrumentation hooks.
 */
export interface Patcher {
  readonly module: ModuleName;
  definitions(guard: ModuleGuard): ModuleDefinition[];
}

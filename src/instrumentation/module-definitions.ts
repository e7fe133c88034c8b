import type { ModuleDefinition } from './module-definition';
import type { BreakerboxConfig } from '../config';
import type { BreakerRegistry } from '../registry';
import { ModuleGuard } from './module-guard';
import type { Patcher } from './patcher';
import { PATCHERS } from './patchers';

/**
 * The module definitions of one guard per configured module, for the preload's ModuleHooks
 * and for BreakerboxInstrumentation alike. Required only once one of those is built: the
 * patchers are most of the instrumentation's code.
 */
export function moduleDefinitions(config: BreakerboxConfig, registry: BreakerRegistry): ModuleDefinition[] {
  const definitions: ModuleDefinition[] = [];
  if (!config.enabled) return definitions;
  for (const patcher of PATCHERS as readonly Patcher[]) {
    // A disabled breaker is patched too: it passes calls straight through until an operator enables it.
    const breaker = config.breakers.find((b) => b.module === patcher.module);
    if (!breaker) continue;
    definitions.push(...patcher.definitions(new ModuleGuard(patcher.module, breaker, registry)));
  }
  return definitions;
}

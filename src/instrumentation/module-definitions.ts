import type { InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import type { BreakerboxConfig } from '../config';
import type { BreakerRegistry } from '../registry';
import { ModuleGuard } from './module-guard';
import type { Patcher } from './patcher';
import { PATCHERS } from './patchers';

/**
 * The module definitions of one guard per configured module. The patchers load
 * @opentelemetry/instrumentation, so this file is only required once an instrumentation
 * is being built.
 */
export function moduleDefinitions(config: BreakerboxConfig, registry: BreakerRegistry): InstrumentationNodeModuleDefinition[] {
  const definitions: InstrumentationNodeModuleDefinition[] = [];
  if (!config.enabled) return definitions;
  for (const patcher of PATCHERS as readonly Patcher[]) {
    // A disabled breaker is patched too: it passes calls straight through until an operator enables it.
    const breaker = config.breakers.find((b) => b.module === patcher.module);
    if (!breaker) continue;
    definitions.push(...patcher.definitions(new ModuleGuard(patcher.module, breaker, registry)));
  }
  return definitions;
}

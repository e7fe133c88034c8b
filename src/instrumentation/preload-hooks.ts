import type { BreakerboxConfig } from '../config';
import type { BreakerRegistry } from '../registry';
import { moduleDefinitions } from './module-definitions';
import { ModuleHooks } from './module-hooks';

/** The preload's patches: the configured modules' definitions on breakerbox's own hooks, enabled. */
export function startModuleHooks(config: BreakerboxConfig, registry: BreakerRegistry): ModuleHooks {
  return new ModuleHooks(moduleDefinitions(config, registry));
}

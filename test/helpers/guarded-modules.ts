import type { InstrumentationBase } from '@opentelemetry/instrumentation';
import { PATCHERS } from '../../src/instrumentation/patchers';

/**
 * The modules an instrumentation guards, read from the module definitions its init() built:
 * every patcher hooks its own module by name (pg also hooks pg-pool, fs also fs/promises).
 */
export function guardedModules(inst: InstrumentationBase): string[] {
  const hooked = new Set(inst.getModuleDefinitions().map((d) => d.name));
  return PATCHERS.map((p) => p.module as string).filter((module) => hooked.has(module));
}

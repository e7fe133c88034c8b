import type { BreakerboxConfig, ModuleName } from './types';

const GUARDABLE: readonly Exclude<ModuleName, 'manual'>[] = ['pg', 'nats', 'ws', 'fs'];

export interface ModuleCoverage {
  /** Module -> the breaker guarding it. */
  readonly guarded: Record<string, string>;
  /** Module -> why nothing guards it. */
  readonly unguarded: Record<string, string>;
}

/**
 * Which modules a configuration guards, for the startup line: an operator reading the log
 * must see a module left unguarded without having to diff the file against the defaults.
 */
export function moduleCoverage(config: BreakerboxConfig): ModuleCoverage {
  const guarded: Record<string, string> = {};
  const unguarded: Record<string, string> = {};
  for (const module of GUARDABLE) {
    const b = config.breakers.find((x) => x.module === module);
    if (!config.enabled) unguarded[module] = 'circuit_breakers.enabled is false';
    else if (b === undefined) unguarded[module] = 'no breaker configured';
    else if (b.disabled) unguarded[module] = `${b.name} has mode: disabled`;
    else guarded[module] = b.name;
  }
  return { guarded, unguarded };
}

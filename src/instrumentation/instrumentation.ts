import { InstrumentationBase, type InstrumentationConfig, type InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
import { loadConfig, type BreakerboxConfig } from '../config';
import { registry as processRegistry, type BreakerRegistry } from '../registry';
import { VERSION } from '../version';
import { ModuleGuard } from './module-guard';
import type { Patcher } from './patcher';
import { PATCHERS } from './patchers';

export interface BreakerboxInstrumentationConfig extends InstrumentationConfig {
  /**
   * The breakerbox configuration. Default: the registry's, else `loadConfig()` (BREAKERBOX_CONFIG,
   * ./breakerbox.yaml, built-in defaults).
   */
  breakerbox?: BreakerboxConfig;
  /** Registry to create breakers in. Default: the process-wide `registry`. */
  registry?: BreakerRegistry;
}

/**
 * The OpenTelemetry instrumentation that puts configured breakers in front of pg, pg-pool,
 * nats, ws and fs. Add it to your own NodeSDK's `instrumentations` next to others (e.g.
 * instrumentation-pg); `breakerbox/register` does that for you.
 */
export class BreakerboxInstrumentation extends InstrumentationBase<BreakerboxInstrumentationConfig> {
  // Set in init(), which InstrumentationBase calls from its constructor before field initialisers run.
  private guards!: ModuleGuard[];

  constructor(config: BreakerboxInstrumentationConfig = {}) {
    super('breakerbox', VERSION, config);
  }

  /** The guards in force, one per guarded module (for tests and the demo's status line). */
  get moduleGuards(): readonly ModuleGuard[] {
    return this.guards;
  }

  protected init(): InstrumentationNodeModuleDefinition[] {
    const reg = this._config.registry ?? processRegistry;
    let config = this._config.breakerbox ?? reg.configuration;
    if (!config) {
      config = loadConfig();
    }
    if (reg.configuration !== config) reg.configure(config);
    this.guards = [];
    if (!config.enabled) return [];
    const definitions: InstrumentationNodeModuleDefinition[] = [];
    for (const patcher of PATCHERS as readonly Patcher[]) {
      // A disabled breaker is patched too: it passes calls straight through until an operator enables it.
      const breaker = config.breakers.find((b) => b.module === patcher.module);
      if (!breaker) continue;
      const guard = new ModuleGuard(patcher.module, breaker, reg);
      this.guards.push(guard);
      definitions.push(...patcher.definitions(guard));
    }
    return definitions;
  }
}

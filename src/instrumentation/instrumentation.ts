/* eslint-disable @typescript-eslint/no-require-imports */
import type { InstrumentationBase, InstrumentationConfig, InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import type { BreakerboxConfig } from '../config';
import { loadConfig } from '../config/on-demand';
import { registry as processRegistry, type BreakerRegistry } from '../registry';
import { VERSION } from '../version';

export interface BreakerboxInstrumentationConfig extends InstrumentationConfig {
  /**
   * The breakerbox configuration. Default: the registry's, else `loadConfig()` (BREAKERBOX_CONFIG,
   * ./breakerbox.yaml, built-in defaults).
   */
  breakerbox?: BreakerboxConfig;
  /** Registry to create breakers in. Default: the process-wide `registry`. */
  registry?: BreakerRegistry;
}

type BaseClass = typeof InstrumentationBase<BreakerboxInstrumentationConfig>;

// What TypeScript sees: a subclass of InstrumentationBase. What runs: the same, linked on first
// construction (see linkBase), so that exporting this class from 'breakerbox' costs nothing.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface BreakerboxInstrumentation extends InstrumentationBase<BreakerboxInstrumentationConfig> {}

/**
 * The OpenTelemetry instrumentation that puts configured breakers in front of pg, pg-pool,
 * nats, ws and fs. Add it to your own NodeSDK's `instrumentations` next to others (e.g.
 * instrumentation-pg); `breakerbox/register` does that for you.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class BreakerboxInstrumentation {
  constructor(config: BreakerboxInstrumentationConfig = {}) {
    // Construct as InstrumentationBase with this class (or the app's subclass) as new.target:
    // the instance gets our prototype, and the base constructor calls our init().
    return Reflect.construct(linkBase(), ['breakerbox', VERSION, config], new.target) as BreakerboxInstrumentation;
  }

  protected init(): InstrumentationModuleDefinition[] {
    const { breakerbox, registry } = this.getConfig();
    const reg = registry ?? processRegistry;
    const config = breakerbox ?? reg.configuration ?? loadConfig();
    if (reg.configuration !== config) reg.configure(config);
    return loadedDefinitions!.moduleDefinitions(config, reg);
  }
}

/**
 * @opentelemetry/instrumentation (require hooks, shimmer, diag) is loaded when the first
 * instrumentation is built, not when 'breakerbox' is imported: a process that only uses
 * CircuitBreaker never pays for it. Linking the prototype chain then makes instances
 * `instanceof InstrumentationBase` with every inherited method, exactly as `extends` would.
 */
let loadedDefinitions: typeof import('./module-definitions') | null = null;

function linkBase(): BaseClass {
  // The patchers too, before the base constructor runs init(): required from inside init(),
  // node:fs was left unpatched on its next require (test/integration/fs-esm.test.ts).
  loadedDefinitions ??= require('./module-definitions') as typeof import('./module-definitions');
  const Base = (require('@opentelemetry/instrumentation') as typeof import('@opentelemetry/instrumentation'))
    .InstrumentationBase as BaseClass;
  if (Object.getPrototypeOf(BreakerboxInstrumentation.prototype) !== Base.prototype) {
    Object.setPrototypeOf(BreakerboxInstrumentation.prototype, Base.prototype);
    Object.setPrototypeOf(BreakerboxInstrumentation, Base);
  }
  return Base;
}

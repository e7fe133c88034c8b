import type { BreakerConfig, ModuleName } from '../config';
import type { OperationIndex } from '../core/internal';
import type { BreakerRegistry, ManagedBreaker } from '../registry';
import { currentOperation } from '../registry/app-operation';

/**
 * What a patcher asks at call time: is this operation guarded, which breaker guards this
 * target, and which operation label applies. Operation indices are resolved once per
 * (breaker, operation) and cached, so the per-call cost is a lookup in a small array.
 */
export class ModuleGuard {
  readonly breakerName: string;
  private readonly operations: ReadonlySet<string> | null;
  private readonly appOperations: ReadonlySet<string>;
  private readonly opCache = new WeakMap<ManagedBreaker, Map<string, OperationIndex>>();

  constructor(
    readonly module: ModuleName,
    readonly config: BreakerConfig,
    private readonly registry: BreakerRegistry,
  ) {
    this.breakerName = config.name;
    this.operations = config.operations ? new Set(config.operations) : null;
    this.appOperations = new Set(config.appOperations);
  }

  /** Whether calls of this module operation go through the breaker at all. */
  guards(operation: string): boolean {
    return this.operations === null || this.operations.has(operation);
  }

  get perTarget(): boolean {
    return this.config.perTarget;
  }

  /** The breaker for a call: the per-target child when configured, else the module's breaker. */
  entry(target?: string): ManagedBreaker {
    return target !== undefined && this.config.perTarget
      ? this.registry.child(this.breakerName, target)
      : this.registry.entry(this.breakerName);
  }

  /** Operation index for the recorder: the app operation if one is active and listed. */
  op(entry: ManagedBreaker, operation: string): OperationIndex {
    const app = currentOperation();
    const name = app !== undefined && this.appOperations.has(app) ? app : operation;
    let cache = this.opCache.get(entry);
    if (!cache) {
      cache = new Map();
      this.opCache.set(entry, cache);
    }
    let index = cache.get(name);
    if (index === undefined) {
      index = entry.stats.operationIndex(name);
      cache.set(name, index);
    }
    return index;
  }
}

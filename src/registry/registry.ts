import { CircuitBreaker } from '../core/circuit-breaker';
import type { ResolvedOptions } from '../core/options';
import type { CircuitBreakerOptions } from '../core/types';
import type { BreakerboxConfig, BreakerConfig, ModuleName } from '../config';
import { logLine } from '../telemetry/transition-log';
import { CallStats } from './call-stats';
import { applyFunctions, checkAgainstExisting, checkAgainstFile, type CodeOptions, type FunctionOption } from './code-options';
import { classifierFor } from './module-classifiers';
import { currentOperation } from './app-operation';
import { isOperationMap, setOperationFallbacks, type OperationFallbacks } from './operation-fallbacks';
import type { FleetLink } from './fleet-link';
import { DEFAULT_OPERATION as DEFAULT_OPERATION_INDEX } from '../core/internal';

/** A breaker with what the registry knows about it. */
export interface ManagedBreaker {
  readonly breaker: CircuitBreaker;
  readonly module: ModuleName;
  readonly stats: CallStats;
  /** The configuration it was built from, or null for a breaker created in code only. */
  readonly config: BreakerConfig | null;
  /** For a per-target child: the parent's name and the target. */
  readonly parent: string | null;
  readonly target: string | null;
  /** Registry tick of the last `child()` lookup, for evicting idle children. */
  lastUsed: number;
}

type Listener = (entry: ManagedBreaker) => void;

/** `registry.get` options: a breaker's options, where `fallback` may also be one function per operation. */
export type RegistryGetOptions = Omit<CircuitBreakerOptions, 'name' | 'fallback'> & {
  fallback?: CircuitBreakerOptions['fallback'] | OperationFallbacks;
};

const DEFAULT_OPERATION = 'execute';

/**
 * Named breakers, created on first use from the configuration (or code options and the
 * defaults). Per-target children are bounded by `max_targets`: when full, the least recently
 * used closed child is dropped, else the least recently used child whatever its state, so
 * neither memory nor metric labels grow with the number of targets, and a new target always
 * gets a breaker of its own: one that never failed is never refused for others' failures.
 */
export class BreakerRegistry {
  private readonly entries = new Map<string, ManagedBreaker>();
  private readonly children = new Map<string, Map<string, ManagedBreaker>>();
  private readonly addListeners: Listener[] = [];
  private readonly removeListeners: Listener[] = [];
  private readonly retired = new Map<string, Record<string, number>>();
  private config: BreakerboxConfig | null = null;
  private tick = 0;
  /** This process's fleet member, while fleet mode runs (metrics, health and admin read it). */
  fleet: FleetLink | null = null;
  /** `breaker\0option` pairs whose replacement was logged: once each, however often get() runs. */
  private readonly replacedLogged = new Set<string>();

  constructor(config?: BreakerboxConfig) {
    if (config) this.config = config;
  }

  /** Uses `config` for breakers created from now on. */
  configure(config: BreakerboxConfig): void {
    this.config = config;
  }

  get configuration(): BreakerboxConfig | null {
    return this.config;
  }

  /** The configuration of a named breaker, if the config file has one. */
  configFor(name: string): BreakerConfig | null {
    return this.config?.breakers.find((b) => b.name === name) ?? null;
  }

  /**
   * The named breaker, created the first time from the config (or the options and the
   * defaults). Functions in `options` (`isFailure`, `fallback`) are applied to the breaker
   * even when it already exists, e.g. built by the preload; for a configured breaker, a
   * number in `options` that differs from the file's is an error naming both values.
   * `fallback` may be a map of one function per operation (`{ publish: fn }`, nats breakers),
   * applied whether or not the breaker existed already.
   */
  get(name: string, options?: RegistryGetOptions): CircuitBreaker {
    const fallback = options?.fallback;
    if (!isOperationMap(fallback)) return this.entry(name, options as CodeOptions | undefined).breaker;
    // One function per operation (nats): kept beside the breaker, for this one and from now on.
    const { fallback: _perOperation, ...rest } = options as RegistryGetOptions;
    const entry = this.entry(name, rest);
    setOperationFallbacks(entry.breaker, entry.module, fallback);
    return entry.breaker;
  }

  /** Like `get`, with the registry's bookkeeping (module, stats). */
  entry(name: string, options?: CodeOptions): ManagedBreaker {
    const existing = this.entries.get(name);
    if (existing) {
      if (options !== undefined) this.applyToExisting(existing, options);
      return existing;
    }
    if (typeof name !== 'string' || name.length === 0) {
      throw new TypeError(`registry.get(name): expected a non-empty breaker name, got ${JSON.stringify(name)}`);
    }
    const config = this.configFor(name);
    const module: ModuleName = config?.module ?? 'manual';
    let breaker: CircuitBreaker;
    if (config) {
      if (options !== undefined) checkAgainstFile(config, this.config?.source ?? null, options);
      const { isFailure, fallback, ...rest } = options ?? {};
      breaker = new CircuitBreaker({ isFailure: classifierFor(module), ...definedOnly(rest), ...config.options, name });
      if (isFailure !== undefined || fallback !== undefined) {
        applyFunctions(breaker, { isFailure, fallback }, (option, previous) => this.logReplaced(name, module, option, previous));
      }
    } else {
      breaker = new CircuitBreaker({ ...this.defaults(), ...definedOnly(options), name });
    }
    const stats = new CallStats(DEFAULT_OPERATION);
    if (module === 'manual' && config && config.appOperations.length > 0) {
      // Manual breakers have no module method to name their calls: withOperation() does.
      const listed = new Set(config.appOperations);
      breaker.labelOperationsWith(() => {
        const app = currentOperation();
        return app !== undefined && listed.has(app) ? stats.operationIndex(app) : DEFAULT_OPERATION_INDEX;
      });
    }
    return this.add({ breaker, module, stats, config, parent: null, target: null, lastUsed: 0 });
  }

  /**
   * The breaker for one target of a per-target breaker (host:port/db, server, origin, path
   * root). Returns the parent itself when the breaker is not per-target.
   */
  child(parentName: string, target: string): ManagedBreaker {
    const parent = this.entry(parentName);
    if (!parent.config?.perTarget) return parent;
    let kids = this.children.get(parentName);
    if (!kids) {
      kids = new Map();
      this.children.set(parentName, kids);
    }
    const found = kids.get(target);
    if (found) {
      found.lastUsed = ++this.tick;
      return found;
    }
    if (kids.size >= parent.config.maxTargets) this.evictIdleChild(parentName, kids);
    const p = parent.breaker;
    const breaker = new CircuitBreaker({
      ...childOptions(p.options),
      isFailure: (err) => p.verdict(err),
      name: `${parentName}@${target}`,
    });
    breaker.shareFallbackOf(p);
    // An operator who forced the parent open (or disabled it) meant every target.
    if (p.state === 'forced_open') breaker.forceOpen();
    else if (p.state === 'disabled') breaker.disable();
    const entry = this.add({
      breaker,
      module: parent.module,
      stats: new CallStats(DEFAULT_OPERATION),
      config: parent.config,
      parent: parentName,
      target,
      lastUsed: ++this.tick,
    });
    kids.set(target, entry);
    return entry;
  }

  /** The live per-target children of a breaker (none when it is not per-target). */
  childrenOf(parentName: string): ManagedBreaker[] {
    const kids = this.children.get(parentName);
    return kids ? [...kids.values()] : [];
  }

  /** Calls per outcome that evicted children of `parentName` made, so roll-ups never go backwards. */
  retiredCalls(parentName: string): Record<string, number> {
    return { ...(this.retired.get(parentName) ?? {}) };
  }

  /** Every breaker, parents and children. */
  list(): ManagedBreaker[] {
    return [...this.entries.values()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Called for each breaker created from now on, and once for each existing one. */
  onAdd(fn: Listener): void {
    this.addListeners.push(fn);
    for (const e of this.entries.values()) fn(e);
  }

  onRemove(fn: Listener): void {
    this.removeListeners.push(fn);
  }

  /** Forgets every breaker (tests; a new configuration). */
  clear(): void {
    for (const e of [...this.entries.values()]) this.remove(e);
    this.children.clear();
    this.retired.clear();
  }

  private applyToExisting(entry: ManagedBreaker, options: CodeOptions): void {
    if (entry.config !== null && entry.parent === null) {
      checkAgainstFile(entry.config, this.config?.source ?? null, options);
      checkAgainstExisting(entry.breaker, entry.config, options);
    }
    applyFunctions(entry.breaker, options, (option, previous) => this.logReplaced(entry.breaker.name, entry.module, option, previous));
  }

  /** Apps may call get() per request with fresh closures: say it once per breaker and function. */
  private logReplaced(name: string, module: ModuleName, option: FunctionOption, previous: unknown): void {
    const key = `${name}\0${option}`;
    if (this.replacedLogged.has(key)) return;
    this.replacedLogged.add(key);
    const what = previous === classifierFor(module) ? `the built-in ${module} classifier` : `the ${option} it had`;
    logLine(
      this.config?.monitoring.logLevel ?? 'info',
      'debug',
      `breakerbox: registry.get("${name}") replaced ${what} with the ${option} given in code`,
      { breaker: name, option },
    );
  }

  private defaults(): Partial<CircuitBreakerOptions> {
    const d = this.config?.defaults;
    return d ? { failureThreshold: d.failureThreshold, resetTimeoutMs: d.resetTimeoutMs } : {};
  }

  private add(entry: ManagedBreaker): ManagedBreaker {
    this.entries.set(entry.breaker.name, entry);
    entry.breaker.recorder = entry.stats;
    const cfg = entry.config;
    if (this.config && !this.config.enabled) entry.breaker.disable();
    else if (cfg?.disabled) entry.breaker.disable();
    else if (cfg?.forcedOpen) entry.breaker.forceOpen();
    entry.breaker.on('stateChange', (e) => {
      entry.stats.transitions.add(e.from, e.to, e.reason);
      if (e.recoveryMs !== null) entry.stats.recordRecovery(e.recoveryMs);
    });
    for (const fn of this.addListeners) fn(entry);
    return entry;
  }

  private remove(entry: ManagedBreaker): void {
    this.entries.delete(entry.breaker.name);
    for (const fn of this.removeListeners) fn(entry);
  }

  /** Drops the least recently used closed child, else the least recently used child. */
  private evictIdleChild(parentName: string, kids: Map<string, ManagedBreaker>): void {
    let closed: ManagedBreaker | null = null;
    let any: ManagedBreaker | null = null;
    for (const kid of kids.values()) {
      if (any === null || kid.lastUsed < any.lastUsed) any = kid;
      if (kid.breaker.state === 'closed' && (closed === null || kid.lastUsed < closed.lastUsed)) closed = kid;
    }
    const victim = closed ?? any;
    if (victim === null || victim.target === null) return;
    kids.delete(victim.target);
    const sum = this.retired.get(parentName) ?? {};
    for (const [outcome, n] of Object.entries(victim.stats.totals())) sum[outcome] = (sum[outcome] ?? 0) + n;
    this.retired.set(parentName, sum);
    this.remove(victim);
  }
}

function definedOnly(options: Omit<CircuitBreakerOptions, 'name'> | undefined): Partial<CircuitBreakerOptions> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options ?? {})) if (v !== undefined) out[k] = v;
  return out as Partial<CircuitBreakerOptions>;
}

/** A parent's resolved options as options for a child ("off" is 0 in both). */
function childOptions(o: Readonly<ResolvedOptions>): Partial<CircuitBreakerOptions> {
  return { ...o };
}

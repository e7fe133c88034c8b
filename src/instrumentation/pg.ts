/**
 * Guards `pg` and `pg-pool` (operations `connect` and `query`), patching prototypes in place.
 *
 * One user call counts once: a client that pg-pool connects for itself is the pool checkout's
 * business, and `pool.query()` is one `query` even though pg-pool runs it as a checkout plus
 * a client query. Transactions are never stranded: once BEGIN is admitted, the rest of the
 * transaction and whatever ends it go through even if the breaker opens meanwhile (see
 * pg-transaction.ts). Errors reach the app the way pg delivers them for each call form.
 */
import { moduleDefinition, type ModuleDefinition } from './module-definition';
import { callOptions, FORCED_CALL, PLAIN_CALL, type CallOptions } from '../core/internal';
import type { ManagedBreaker } from '../registry';
import type { ModuleGuard } from './module-guard';
import type { Patcher } from './patcher';
import { CLOSES, classifyStatement, OPENS, transactions } from './pg-transaction';
import { clientTarget, findConnectionParameters, poolTarget, type ConnectionParametersClass } from './pg-target';
import type { PgClient, PgPool, Submittable } from './pg-internal-types';
import { observeQuery, querySubmittable, restoringConfigCallback, trackIssued, type PgQueryPatch } from './pg-submittable';
import { unwrap, wrap } from './wrap';
import { libraryPromise, NO_ARGS } from './pg-promise';
import { getPoolConnectPatch, getPoolNewClientPatch, getPoolQueryPatch, type PgPoolPatch } from './pg-pool';
import { type AnyFunction, isThenable } from '../core/callable';

const CLIENT_METHODS = ['connect', 'query'] as const;
const POOL_METHODS = ['connect', 'query', 'newClient'] as const;

function noop(): void {}

/** Ends a client nobody will use; an error ending it is nobody's to handle either. */
function endQuietly(client: unknown): void {
  const result = (client as { end?: () => unknown }).end?.();
  if (isThenable(result)) result.then(undefined, noop);
}

/** A Client.connect() that completed after its caller got ECIRCUITTIMEOUT: close the backend it opened. */
const CLIENT_CONNECT_CALL = callOptions({
  hooks: {
    disposeLate(_value: unknown, client: unknown): void {
      endQuietly(client);
    },
  },
});

/** One instrumentation's patch of pg / pg-pool: the guard, the originals' wrappers, the one-shot markers. */
class PgPatch implements PgQueryPatch, PgPoolPatch {
  readonly guardsQuery: boolean;
  readonly guardsConnect: boolean;
  // The one-shot markers the client and pool patches share (documented on PgPoolPatch).
  poolQueryPool: object | null = null;
  poolQueryClient: unknown = null;
  poolClientConnects = 0;
  private connectionParameters: ConnectionParametersClass | null = null;
  /**
   * Clients pg-pool connected and has not handed out yet. Handing out any other client (an
   * idle one) does no I/O, so that checkout is no evidence about the database either way.
   */
  readonly freshClients = new WeakSet<object>();
  readonly poolConnectCall: CallOptions;

  constructor(readonly guard: ModuleGuard) {
    this.guardsQuery = guard.guards('query');
    this.guardsConnect = guard.guards('connect');
    const fresh = this.freshClients;
    this.poolConnectCall = callOptions({
      hooks: {
        touched(client: unknown): boolean {
          return typeof client === 'object' && client !== null && fresh.delete(client);
        },
        // A checkout that completed after its caller got ECIRCUITTIMEOUT: nobody will release
        // the client, and a pool at its max would wait for it forever.
        disposeLate(client: unknown): void {
          fresh.delete(client as object);
          const release = (client as { release?: unknown } | null)?.release;
          if (typeof release === 'function') (release as AnyFunction).call(client);
        },
      },
    });
  }

  definitions(): ModuleDefinition[] {
    return [
      moduleDefinition(
        'pg',
        ['>=8.0.0 <9'],
        (exports: unknown) => {
          this.patchPg(exports);
          return exports;
        },
        (exports: unknown) => this.unpatchPg(exports),
      ),
      moduleDefinition(
        'pg-pool',
        ['>=2.0.0 <4'],
        (exports: unknown) => {
          const proto = poolPrototype(exports);
          if (proto !== null) this.patchPool(proto);
          return exports;
        },
        (exports: unknown) => {
          const proto = poolPrototype(exports);
          if (proto !== null) unwrapAll(proto, POOL_METHODS);
        },
      ),
    ];
  }

  // ------------------------------------------------------------------ patching

  private patchPg(exports: unknown): void {
    const pg = pgExports(exports);
    if (pg === null) return;
    this.connectionParameters ??= findConnectionParameters(pg.Client);
    this.patchClient((pg.Client as { prototype: object }).prototype);
    // pg's Pool is a subclass bound to its Client; the methods live on pg-pool's Pool.prototype.
    // Patching it from here also covers an app whose pg-pool was loaded before the hook.
    const proto = poolPrototype(pg.Pool);
    if (proto !== null) this.patchPool(proto);
  }

  private unpatchPg(exports: unknown): void {
    const pg = pgExports(exports);
    if (pg === null) return;
    unwrapAll((pg.Client as { prototype: object }).prototype, CLIENT_METHODS);
    const proto = poolPrototype(pg.Pool);
    if (proto !== null) unwrapAll(proto, POOL_METHODS);
  }

  private patchClient(proto: object): void {
    if (this.guardsConnect) wrap(proto, 'connect', getClientConnectPatch(this));
    if (this.guardsQuery) wrap(proto, 'query', getClientQueryPatch(this));
  }

  private patchPool(proto: object): void {
    // connect is needed for query too: it is where pool.query's inner checkout is recognised.
    if (this.guardsConnect || this.guardsQuery) wrap(proto, 'connect', getPoolConnectPatch(this));
    if (this.guardsQuery) wrap(proto, 'query', getPoolQueryPatch(this));
    if (this.guardsConnect) wrap(proto, 'newClient', getPoolNewClientPatch(this));
  }

  // ------------------------------------------------------------ breaker lookup

  clientEntry(client: PgClient): ManagedBreaker {
    return this.guard.perTarget ? this.guard.entry(clientTarget(client)) : this.guard.entry();
  }

  poolEntry(pool: PgPool): ManagedBreaker {
    return this.guard.perTarget ? this.guard.entry(poolTarget(pool, this.connectionParameters)) : this.guard.entry();
  }
}

// -------------------------------------------------------------- pg.Client

function getClientConnectPatch(patch: PgPatch): (original: AnyFunction) => AnyFunction {
  return function patchClientConnect(original) {
    return function connect(this: PgClient, callback?: unknown): unknown {
      // A client pg-pool creates for itself (its checkout is the call that counts), or a
      // non-function callback pg will choke on as usual.
      if (patch.poolClientConnects > 0) {
        patch.freshClients.add(this);
        return original.call(this, callback);
      }
      if (callback && typeof callback !== 'function') return original.call(this, callback);
      const entry = patch.clientEntry(this);
      const op = patch.guard.op(entry, 'connect');
      if (callback) return entry.breaker.invokeCallback(original, this, [callback], 0, op, CLIENT_CONNECT_CALL);
      return libraryPromise(this._Promise, entry.breaker.invoke(original, this, NO_ARGS, op, CLIENT_CONNECT_CALL));
    } as AnyFunction;
  };
}

function getClientQueryPatch(patch: PgPatch): (original: AnyFunction) => AnyFunction {
  return function patchClientQuery(original) {
    // BEGIN goes through the breaker as this function, so the transaction is marked only once admitted.
    const opening = function (this: object, config: unknown, values: unknown, callback: unknown): unknown {
      transactions.opened(this);
      return original.call(this, config, values, callback);
    } as AnyFunction;

    return function query(this: PgClient, config: unknown, values: unknown, callback: unknown): unknown {
      if (config === null || config === undefined) return original.call(this, config, values, callback);
      const text = typeof config === 'string' ? config : (config as { text?: unknown }).text;
      const kind = classifyStatement(text);
      if (patch.poolQueryClient === this) {
        // pg-pool's query() dispatching on the client it checked out: counted there already.
        patch.poolQueryClient = null;
        if (kind === OPENS) transactions.opened(this);
        else trackIssued(this, kind);
        return original.call(this, config, values, callback);
      }
      if (typeof (config as Submittable).submit === 'function') {
        return querySubmittable(patch, original, this, config as Submittable, values, callback, kind);
      }

      // Where pg will deliver the outcome, by its own precedence: callback, values, config.callback.
      let cb: unknown;
      let cbIndex = 2;
      if (callback) cb = callback;
      else if (typeof values === 'function') {
        cb = values;
        cbIndex = 1;
      } else if (typeof config === 'object') cb = (config as { callback?: unknown }).callback;
      // A non-function callback: pg throws its own TypeError, synchronously, as without us.
      if (cb && typeof cb !== 'function') return original.call(this, config, values, callback);

      const entry = patch.clientEntry(this);
      const breaker = entry.breaker;
      const op = patch.guard.op(entry, 'query');
      trackIssued(this, kind);
      if (breaker.state !== 'closed' && (kind >= CLOSES || transactions.inTransaction(this))) {
        return observeQuery(original, this, config, values, cb as AnyFunction | undefined, cbIndex, breaker, op);
      }
      const fn = kind === OPENS ? opening : original;
      // A statement of an open transaction is never refused by the concurrency limit: the
      // transaction holds a connection and locks until it ends, so it must be able to end.
      const call = breaker.concurrencyLimit !== null && (kind >= CLOSES || transactions.inTransaction(this)) ? FORCED_CALL : PLAIN_CALL;
      if (!cb) return libraryPromise(this._Promise, breaker.invoke(fn, this, [config, values], op, call));
      const userCallback = typeof config === 'object' ? restoringConfigCallback(config as object, cb as AnyFunction) : cb;
      return breaker.invokeCallback(fn, this, cbIndex === 1 ? [config, userCallback] : [config, values, userCallback], cbIndex, op, call);
    } as AnyFunction;
  };
}

/** pg's exports, or the CommonJS exports behind an ES-module namespace. */
function pgExports(exports: unknown): { Client: unknown; Pool: unknown } | null {
  const candidates = [exports, (exports as { default?: unknown } | null)?.default];
  for (const c of candidates) {
    if (c !== null && typeof c === 'object' && typeof (c as { Client?: unknown }).Client === 'function') {
      return c as { Client: unknown; Pool: unknown };
    }
  }
  return null;
}

/** The prototype that holds pg-pool's own connect/query, for pg-pool's class or a subclass of it. */
function poolPrototype(PoolClass: unknown): object | null {
  let ctor = PoolClass;
  if (typeof ctor !== 'function') ctor = (PoolClass as { default?: unknown } | null)?.default;
  if (typeof ctor !== 'function') return null;
  let proto: object | null = (ctor as { prototype: object }).prototype;
  for (let depth = 0; proto !== null && proto !== Object.prototype && depth < 4; depth++) {
    if (Object.prototype.hasOwnProperty.call(proto, 'connect') && Object.prototype.hasOwnProperty.call(proto, 'query')) return proto;
    proto = Object.getPrototypeOf(proto) as object | null;
  }
  return null;
}

function unwrapAll(target: object, names: readonly string[]): void {
  for (const name of names) unwrap(target, name);
}

export const pgPatcher: Patcher = {
  module: 'pg',
  definitions(guard: ModuleGuard): ModuleDefinition[] {
    return new PgPatch(guard).definitions();
  },
};

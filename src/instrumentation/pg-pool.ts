/**
 * The pg-pool patches: a checkout (`connect`), `pool.query()` (one call, though pg-pool runs
 * it as a checkout plus a client query) and `newClient` (whose connect is the checkout's).
 * The one-shot markers they share with the client patches live on the `PgPatch` in pg.ts.
 */
import { BreakerOpenError, ConcurrencyLimitError } from '../core/errors';
import type { CallOptions } from '../core/internal';
import type { AnyFunction } from '../core/callable';
import type { ManagedBreaker } from '../registry';
import type { ModuleGuard } from './module-guard';
import type { PgPool } from './pg-internal-types';
import { libraryPromise, NO_ARGS } from './pg-promise';

/** What the pool patches read and set on the instrumentation's `PgPatch`. */
export interface PgPoolPatch {
  readonly guard: ModuleGuard;
  readonly guardsConnect: boolean;
  /** Set while pg-pool's `query()` runs: its `this.connect()` is part of that call. */
  poolQueryPool: object | null;
  /** Set while pg-pool's query checkout callback runs: its `client.query()` is part of that call. */
  poolQueryClient: unknown;
  /** >0 while pg-pool creates a client: that client's `connect()` is the pool checkout's. */
  poolClientConnects: number;
  /** Clients pg-pool connected and has not handed out yet (see PgPatch). */
  readonly freshClients: WeakSet<object>;
  readonly poolConnectCall: CallOptions;
  poolEntry(pool: PgPool): ManagedBreaker;
}

function noop(): void {}

/**
 * pg-pool hands connect errors to the callback as `(err, undefined, noop)`; do the same for a
 * rejection, so an app that calls `release()` on its error path does not crash.
 */
function withReleaseOnRejection(callback: AnyFunction): AnyFunction {
  return function (this: unknown, ...args: unknown[]): unknown {
    if (args.length === 1 && (args[0] instanceof BreakerOpenError || args[0] instanceof ConcurrencyLimitError))
      return callback.call(this, args[0], undefined, noop);
    return callback.apply(this, args);
  };
}

export function getPoolNewClientPatch(patch: PgPoolPatch): (original: AnyFunction) => AnyFunction {
  return function patchPoolNewClient(original) {
    return function newClient(this: PgPool, ...args: unknown[]): unknown {
      patch.poolClientConnects++;
      try {
        return original.apply(this, args);
      } finally {
        patch.poolClientConnects--;
      }
    } as AnyFunction;
  };
}

export function getPoolConnectPatch(patch: PgPoolPatch): (original: AnyFunction) => AnyFunction {
  return function patchPoolConnect(original) {
    return function connect(this: PgPool, callback?: unknown): unknown {
      if (patch.poolQueryPool === this) {
        // The checkout inside pool.query(): not a call of its own. pg-pool calls client.query()
        // synchronously inside this callback; mark that client for that one call.
        patch.poolQueryPool = null;
        if (typeof callback !== 'function') return original.call(this, callback);
        const inner = callback as AnyFunction;
        return original.call(this, function (this: unknown, ...args: unknown[]): unknown {
          // Its connect, if it made one, was pool.query's round trip, not a later checkout's.
          const client = args[1];
          if (typeof client === 'object' && client !== null) patch.freshClients.delete(client);
          const previous = patch.poolQueryClient;
          patch.poolQueryClient = args[1] ?? null;
          try {
            return inner.apply(this, args);
          } finally {
            patch.poolQueryClient = previous;
          }
        });
      }
      if (!patch.guardsConnect || (callback && typeof callback !== 'function')) return original.call(this, callback);
      const entry = patch.poolEntry(this);
      const breaker = entry.breaker;
      const op = patch.guard.op(entry, 'connect');
      if (callback) {
        // A refusal (open, or over the concurrency limit) still hands the callback a release() to call.
        const cb =
          breaker.state === 'closed' && breaker.concurrencyLimit === null ? callback : withReleaseOnRejection(callback as AnyFunction);
        return breaker.invokeCallback(original, this, [cb], 0, op, patch.poolConnectCall);
      }
      return libraryPromise(this.Promise, breaker.invoke(original, this, NO_ARGS, op, patch.poolConnectCall));
    } as AnyFunction;
  };
}

export function getPoolQueryPatch(patch: PgPoolPatch): (original: AnyFunction) => AnyFunction {
  return function patchPoolQuery(original) {
    return function query(this: PgPool, text: unknown, values: unknown, callback: unknown): unknown {
      // pg-pool reports a function as the query itself; nothing is checked out.
      if (typeof text === 'function') return original.call(this, text, values, callback);
      const previous = patch.poolQueryPool;
      patch.poolQueryPool = this;
      try {
        const cbIndex = typeof values === 'function' ? 1 : callback ? 2 : -1;
        // A non-function callback fails inside pg-pool as usual; the marker still keeps its
        // inner checkout and query from being counted as calls of their own.
        if (cbIndex === 2 && typeof callback !== 'function') return original.call(this, text, values, callback);
        const entry = patch.poolEntry(this);
        const breaker = entry.breaker;
        const op = patch.guard.op(entry, 'query');
        if (cbIndex < 0) return libraryPromise(this.Promise, breaker.invoke(original, this, [text, values], op));
        return breaker.invokeCallback(original, this, cbIndex === 1 ? [text, values] : [text, values, callback], cbIndex, op);
      } finally {
        patch.poolQueryPool = previous;
      }
    } as AnyFunction;
  };
}

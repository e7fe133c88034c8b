/**
 * The parts of nats 2.x internals the patcher relies on, typed structurally (the library is
 * never imported at run time), and how to reach them when the deep files were loaded before
 * the instrumentation could hook them. Layout notes: docs/internals/patching-notes.md.
 */
import { createRequire } from 'node:module';

/** `ServerImpl`: `listen` is the `host:port` the client reports in status events. */
export interface NatsServerLike {
  listen?: unknown;
}

/** `ProtocolHandler` (`nc.protocol`): the wire side of one connection. */
export interface NatsProtocolLike {
  connected?: unknown;
  /** Set once the first connect completed; status events before that belong to `connect()`. */
  connectedOnce?: unknown;
  server?: NatsServerLike;
  /** The NatsConnectionImpl that owns this handler. */
  publisher?: unknown;
  flush?: () => Promise<unknown>;
  isClosed?: () => boolean;
}

/** `NatsConnectionImpl`: what `connect()` resolves with. */
export interface NatsConnectionLike {
  protocol?: NatsProtocolLike;
}

/** A status event as `ProtocolHandler.prototype.dispatchStatus` receives it. */
export interface NatsStatusLike {
  type?: unknown;
  data?: unknown;
}

/** `lib/nats-base-client/nats.js` exports. */
export interface ConnectionModule {
  NatsConnectionImpl: { prototype: object };
}

/** `lib/nats-base-client/protocol.js` exports. */
export interface ProtocolModule {
  ProtocolHandler: { prototype: object };
}

export function isConnectionModule(value: unknown): value is ConnectionModule {
  return isObject(value) && typeof (value as { NatsConnectionImpl?: unknown }).NatsConnectionImpl === 'function';
}

export function isProtocolModule(value: unknown): value is ProtocolModule {
  return isObject(value) && typeof (value as { ProtocolHandler?: unknown }).ProtocolHandler === 'function';
}

/** Where the deep files sit relative to the files `require('nats')` may resolve to (lib/src/mod.js, index.js). */
const BASE_CANDIDATES = ['../nats-base-client/', './lib/nats-base-client/'];

/**
 * The deep modules of the nats copy whose main exports are `mainExports`, taken from the
 * copy already loaded (require.cache): when `nats` was required before the instrumentation
 * existed (a test runner, an app that builds its SDK late), the file hooks never fire, but the
 * main module hook does. `mainExports` may also be an ES-module namespace, whose `default` is
 * the CommonJS exports. Null when that copy cannot be found (bundled, unknown layout).
 */
export function findLoadedInternals(mainExports: unknown): { connection: ConnectionModule; protocol: ProtocolModule } | null {
  const wanted = new Set<unknown>([mainExports]);
  try {
    const ns = (mainExports as { default?: unknown }).default;
    if (isObject(ns)) wanted.add(ns);
  } catch {
    // A namespace whose `default` throws is not one we can use.
  }
  for (const mod of Object.values(require.cache)) {
    if (mod === undefined || !wanted.has(mod.exports)) continue;
    const load = createRequire(mod.filename);
    for (const base of BASE_CANDIDATES) {
      try {
        const connection = load(`${base}nats.js`) as unknown;
        const protocol = load(`${base}protocol.js`) as unknown;
        if (isConnectionModule(connection) && isProtocolModule(protocol)) return { connection, protocol };
      } catch {
        // Not this layout; try the next.
      }
    }
  }
  return null;
}

type NatsErrorClass = { errorForCode(code: string): Error };
const errorClasses = new WeakMap<object, NatsErrorClass | null>();

/**
 * A `NatsError` with `code` from the very copy of nats that `handler` (a connection's
 * ProtocolHandler) came from, so an app's fallback sees the error type it knows. The class is
 * not exported where the patcher can reach it per connection, but `ProtocolHandler.toError`
 * (static, pure) builds one: its constructor is the class. A plain Error with the same `code`
 * when that fails.
 */
export function natsError(handler: NatsProtocolLike | undefined, code: string): Error {
  const Handler = handler?.constructor as { toError?: (s: string) => unknown } | undefined;
  if (Handler !== undefined && Handler !== Object) {
    let cls = errorClasses.get(Handler);
    if (cls === undefined) {
      cls = null;
      try {
        const sample = typeof Handler.toError === 'function' ? Handler.toError('') : undefined;
        const ctor = isObject(sample) ? (sample.constructor as Partial<NatsErrorClass>) : undefined;
        if (ctor !== undefined && typeof ctor.errorForCode === 'function') cls = ctor as NatsErrorClass;
      } catch {
        // Fall through to the plain error.
      }
      errorClasses.set(Handler, cls);
    }
    if (cls !== null) {
      try {
        return cls.errorForCode(code);
      } catch {
        // Fall through to the plain error.
      }
    }
  }
  return Object.assign(new Error(code), { name: 'NatsError', code });
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

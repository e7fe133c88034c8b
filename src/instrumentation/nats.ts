/**
 * The nats (2.x) patcher. Patched in place, reversibly (wrap/unwrap), on the library's own
 * classes, which `nats` does not export (docs/internals/patching-notes.md):
 *
 * - `NatsConnectionImpl.connect` (static): `connect()`. The `connect` export looks it up at
 *   call time, so this one hook covers CommonJS and ES-module apps alike, whenever they took
 *   their reference to `connect`.
 * - `NatsConnectionImpl.prototype`: `publish`, `subscribe` (sync), `request`, `requestMany`,
 *   `flush` (promises); `respondMessage` only to mark its inner publish as part of it.
 * - `ProtocolHandler.prototype.dispatchStatus`: every status event of every connection,
 *   observed without adding a listener to anything the app owns.
 * - `ProtocolHandler.prototype._doDial` (`dial` in copies without it): each attempt of the
 *   client's own reconnect loop, whose failures are what opens the breaker on an outage.
 *
 * `msg.respond()` publishes through the ProtocolHandler, never through `nc.publish`, so it is
 * never a guarded call: a responder keeps answering whatever the breaker says (see
 * nats-gate.ts for why that matters in half-open).
 *
 * The classes are reached through file hooks when the instrumentation exists before `nats`
 * loads (the usual preload), and otherwise from the loaded copy when `nats` itself is next
 * required.
 */
import { moduleDefinition, moduleFile, type ModuleDefinition } from './module-definition';
import type { ModuleGuard } from './module-guard';
import { NatsGate } from './nats-gate';
import {
  findLoadedInternals,
  isConnectionModule,
  isProtocolModule,
  type NatsConnectionLike,
  type NatsProtocolLike,
  type NatsStatusLike,
} from './nats-internals';
import { isOwnConnect, isOwnConnection } from './nats-own';
import type { Patcher } from './patcher';
import { unwrap, wrap } from './wrap';
import type { AnyFunction } from '../core/callable';

const SUPPORTED_VERSIONS = ['>=2.0.0 <3'];
const CONNECTION_FILE = 'nats/lib/nats-base-client/nats.js';
const PROTOCOL_FILE = 'nats/lib/nats-base-client/protocol.js';

const CONNECTION_METHODS = ['publish', 'subscribe', 'request', 'requestMany', 'respondMessage', 'flush', 'close', 'drain'] as const;

/**
 * Connections the app closed or drained itself. Their CONNECTION_CLOSED / DRAINING errors are
 * the app's own doing, not an outage: calls on them go straight to the library, uncounted.
 */
const closedByApp = new WeakSet<object>();

function bypass(nc: unknown): boolean {
  return libraryDepth > 0 || (typeof nc === 'object' && nc !== null && (closedByApp.has(nc) || isOwnConnection(nc)));
}

/**
 * Depth of the library's own calls in progress: `request`, `requestMany` and `respondMessage`
 * call `this.publish` (and, without the mux, `this.subscribe`) synchronously inside their
 * body. While it is above 0, the inner call is part of the outer one and goes straight
 * through, so one request counts once, and a response never becomes a guarded publish.
 * Module-wide on purpose: synchronous nesting cannot interleave, whatever the connection.
 */
let libraryDepth = 0;

/** `original`, with `libraryDepth` raised for its synchronous part. Built once per wrap, not per call. */
function nested(original: AnyFunction): AnyFunction {
  return function nestedCall(this: unknown, ...args: unknown[]): unknown {
    libraryDepth++;
    try {
      return original.apply(this, args);
    } finally {
      libraryDepth--;
    }
  };
}

type Patch = (original: AnyFunction) => AnyFunction;

function getConnectPatch(gate: NatsGate): Patch {
  return function patchConnect(original) {
    return function connect(this: unknown, ...args: unknown[]): unknown {
      if (isOwnConnect()) return original.apply(this, args);
      return gate.connect(original, this, args);
    };
  };
}

function getPublishPatch(gate: NatsGate): Patch {
  return function patchPublish(original) {
    return function publish(this: unknown, ...args: unknown[]): unknown {
      if (bypass(this)) return original.apply(this, args);
      return gate.publish(original, this as NatsConnectionLike, args, 'publish');
    };
  };
}

function getSubscribePatch(gate: NatsGate): Patch {
  return function patchSubscribe(original) {
    return function subscribe(this: unknown, ...args: unknown[]): unknown {
      if (bypass(this)) return original.apply(this, args);
      return gate.subscribe(original, this as NatsConnectionLike, args, 'subscribe');
    };
  };
}

/** `request`/`requestMany`; patched even when not guarded: their inner publish is still not a publish of its own. */
function getRequestPatch(gate: NatsGate, guarded: boolean): Patch {
  return function patchRequest(original) {
    const inner = nested(original);
    return function request(this: unknown, ...args: unknown[]): unknown {
      if (!guarded || bypass(this)) return inner.apply(this, args);
      return gate.callAsync(inner, this as NatsConnectionLike, args, 'request');
    };
  };
}

function getClosingPatch(): Patch {
  return function patchClosing(original) {
    return function closing(this: unknown, ...args: unknown[]): unknown {
      if (typeof this === 'object' && this !== null) closedByApp.add(this);
      return original.apply(this, args);
    };
  };
}

function getFlushPatch(gate: NatsGate): Patch {
  return function patchFlush(original) {
    return function flush(this: unknown, ...args: unknown[]): unknown {
      if (bypass(this)) return original.apply(this, args);
      return gate.callAsync(original, this as NatsConnectionLike, args, 'flush');
    };
  };
}

function patchConnectionClass(gate: NatsGate, Connection: { prototype: object }): void {
  const guard = gate.guard;
  if (guard.guards('connect')) wrap<AnyFunction>(Connection, 'connect', getConnectPatch(gate));
  const proto = Connection.prototype;
  if (guard.guards('publish')) wrap<AnyFunction>(proto, 'publish', getPublishPatch(gate));
  if (guard.guards('subscribe')) wrap<AnyFunction>(proto, 'subscribe', getSubscribePatch(gate));
  const requestGuarded = guard.guards('request');
  for (const name of ['request', 'requestMany'] as const) wrap<AnyFunction>(proto, name, getRequestPatch(gate, requestGuarded));
  wrap<AnyFunction>(proto, 'respondMessage', nested);
  for (const name of ['close', 'drain'] as const) wrap<AnyFunction>(proto, name, getClosingPatch());
  if (guard.guards('flush')) wrap<AnyFunction>(proto, 'flush', getFlushPatch(gate));
}

function unpatchConnectionClass(Connection: { prototype: object }): void {
  unwrap(Connection, 'connect');
  for (const name of CONNECTION_METHODS) unwrap(Connection.prototype, name);
}

/** The method that runs one dial attempt: `_doDial(server)` in current 2.x, `dial(server)` before it. */
function dialMethod(proto: object): '_doDial' | 'dial' | null {
  const p = proto as { _doDial?: unknown; dial?: unknown };
  if (typeof p._doDial === 'function') return '_doDial';
  return typeof p.dial === 'function' ? 'dial' : null;
}

function getDispatchStatusPatch(gate: NatsGate): Patch {
  return function patchDispatchStatus(original) {
    return function dispatchStatus(this: unknown, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      if (!isOwnConnection((this as NatsProtocolLike).publisher))
        gate.observeStatus(this as NatsProtocolLike, args[0] as NatsStatusLike | undefined);
      return result;
    };
  };
}

function getDialPatch(gate: NatsGate): Patch {
  return function patchDial(original) {
    return function dialAttempt(this: unknown, ...args: unknown[]): unknown {
      const attempt = original.apply(this, args);
      const publisher = (this as NatsProtocolLike).publisher;
      if (!(typeof publisher === 'object' && publisher !== null && (closedByApp.has(publisher) || isOwnConnection(publisher)))) {
        gate.observeDial(this as NatsProtocolLike, args[0], attempt);
      }
      return attempt;
    };
  };
}

function patchProtocolClass(gate: NatsGate, Protocol: { prototype: object }): void {
  wrap<AnyFunction>(Protocol.prototype, 'dispatchStatus', getDispatchStatusPatch(gate));
  const dial = dialMethod(Protocol.prototype);
  if (dial !== null) wrap<AnyFunction>(Protocol.prototype, dial, getDialPatch(gate));
}

function unpatchProtocolClass(Protocol: { prototype: object }): void {
  unwrap(Protocol.prototype, 'dispatchStatus');
  unwrap(Protocol.prototype, '_doDial');
  unwrap(Protocol.prototype, 'dial');
}

export const natsPatcher: Patcher = {
  module: 'nats',
  definitions(guard: ModuleGuard): ModuleDefinition[] {
    const gate = new NatsGate(guard);
    // Classes patched through the main module's fallback, to undo on unpatch (file hooks undo their own).
    const found = new Set<{
      connection: { NatsConnectionImpl: { prototype: object } };
      protocol: { ProtocolHandler: { prototype: object } };
    }>();

    const connectionFile = moduleFile(
      CONNECTION_FILE,
      SUPPORTED_VERSIONS,
      (exports: unknown) => {
        if (isConnectionModule(exports)) patchConnectionClass(gate, exports.NatsConnectionImpl);
        return exports;
      },
      (exports: unknown) => {
        if (isConnectionModule(exports)) unpatchConnectionClass(exports.NatsConnectionImpl);
      },
    );
    const protocolFile = moduleFile(
      PROTOCOL_FILE,
      SUPPORTED_VERSIONS,
      (exports: unknown) => {
        if (isProtocolModule(exports)) patchProtocolClass(gate, exports.ProtocolHandler);
        return exports;
      },
      (exports: unknown) => {
        if (isProtocolModule(exports)) unpatchProtocolClass(exports.ProtocolHandler);
      },
    );

    return [
      moduleDefinition(
        'nats',
        SUPPORTED_VERSIONS,
        (exports: unknown) => {
          // wrap() is idempotent: when the file hooks already ran this changes nothing.
          const internals = findLoadedInternals(exports);
          if (internals !== null) {
            found.add(internals);
            patchConnectionClass(gate, internals.connection.NatsConnectionImpl);
            patchProtocolClass(gate, internals.protocol.ProtocolHandler);
          }
          return exports;
        },
        () => {
          for (const internals of found) {
            unpatchConnectionClass(internals.connection.NatsConnectionImpl);
            unpatchProtocolClass(internals.protocol.ProtocolHandler);
          }
          found.clear();
        },
        [connectionFile, protocolFile],
      ),
    ];
  },
};

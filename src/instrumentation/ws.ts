/**
 * The `ws` patcher (ws 8, and ws 7): a breaker per URL origin in front of client
 * connects and sends, and slow-consumer accounting for server-side sends.
 *
 * Everything is patched in place and nothing is subclassed: `new WebSocket(url)` stays the
 * library's constructor and returns a real WebSocket. The constructor opens the connection
 * synchronously through `http.request` (`https.request`; `get` in ws 7), looked up on the
 * module at call time, so that is where a connect is admitted or refused. Outcomes are read
 * by wrapping emit, never by adding listeners (DESIGN.md section 4).
 */
// Loaded with the patcher, not when ws first connects: a require from inside a module hook
// would let another instrumentation's http hook wrap first (coexistence-wrappers.test.ts).
import http from 'node:http';
import https from 'node:https';
import { otelApi } from '../telemetry/deferred';
import { moduleDefinition, type ModuleDefinition } from './module-definition';
import { IGNORED, REJECT, SLOT, SUCCESS, type OutcomeCode } from '../core/internal';
import type { ModuleGuard } from './module-guard';
import type { Patcher } from './patcher';
import { unwrap, wrap } from './wrap';
import { unwrapInherited, wrapInherited } from './ws-inherited';
import type { ConnectAttempt, Delivering, Emitter, WsSocket } from './ws-internal-types';
import { getSendPatch, WsSend } from './ws-send';
import { handshakeOrigin, isWsHandshakeOptions, type WsHandshakeOptions } from './ws-targets';
import type { AnyFunction } from '../core/callable';

export const WS_SUPPORTED_VERSIONS = ['>=7.0.0 <9'];

/** `max_buffered_amount` when a config does not say (the config layer sets it for ws breakers). */
const DEFAULT_MAX_BUFFERED_AMOUNT = 1024 * 1024;

/**
 * Whether a ws version hands the WebSocket to `opts.finishRequest` (ws >= 8.13). Older
 * versions ignore that option, so their requests are watched instead; an unknown version
 * gets both.
 */
function hasFinishRequest(version: string | undefined): boolean | null {
  const m = /^(\d+)\.(\d+)/.exec(version ?? '');
  if (m === null) return null;
  const major = Number(m[1]);
  return major > 8 || (major === 8 && Number(m[2]) >= 13);
}

function wsClassOf(exports: unknown): { prototype: object } | null {
  const e = exports as { WebSocket?: unknown; default?: unknown } | null | undefined;
  // CommonJS: the export is the class; ESM (import-in-the-middle): a namespace holding it.
  for (const candidate of [exports, e?.WebSocket, e?.default]) {
    const proto = (candidate as { prototype?: Record<string, unknown> } | null | undefined)?.prototype;
    if (typeof candidate === 'function' && proto && typeof proto.send === 'function' && typeof proto.terminate === 'function') {
      return candidate as { prototype: object };
    }
  }
  return null;
}

/** The error ws itself emits for a non-101 answer when the app has no 'unexpected-response' listener. */
function unexpectedResponse(status: unknown): Error {
  return new Error(`Unexpected server response: ${String(status)}`);
}

/** Per-instrumentation state: the module guard, in-flight connects, and the sends. */
class WsPatch {
  enabled = false;
  private linkByFinishRequest = false;
  private watchRequests = false;
  private readonly connectOn: boolean;
  private readonly sendOn: boolean;
  private readonly send: WsSend;
  private readonly protos = new Set<object>();
  private readonly httpWrappers = new Map<object, Map<string, AnyFunction>>();
  /** WebSocket → its connect in flight. */
  private readonly attempts = new WeakMap<object, ConnectAttempt>();
  /** ClientRequest → the connect it carries, until linked to its WebSocket. */
  private readonly byRequest = new WeakMap<object, ConnectAttempt>();
  /** The request event being delivered while a request is watched (see watchRequest). */
  delivering: Delivering | null = null;

  constructor(private readonly moduleGuard: ModuleGuard) {
    this.connectOn = moduleGuard.guards('connect');
    this.sendOn = moduleGuard.guards('send');
    this.send = new WsSend(moduleGuard, moduleGuard.config.maxBufferedAmount ?? DEFAULT_MAX_BUFFERED_AMOUNT);
  }

  patch(exports: unknown, version: string | undefined): unknown {
    const WebSocket = wsClassOf(exports);
    if (WebSocket === null) {
      otelApi().diag.warn(
        `breakerbox: ws ${version ?? '(unknown version)'} does not export the WebSocket class where expected; not guarded`,
      );
      return exports;
    }
    const proto = WebSocket.prototype;
    const finishes = hasFinishRequest(version);
    if (finishes !== false) this.linkByFinishRequest = true;
    if (finishes !== true) this.watchRequests = true;
    if (this.sendOn) wrap<AnyFunction>(proto, 'send', getSendPatch(this.send));
    if (this.connectOn) {
      wrapInherited<AnyFunction>(proto, 'emit', getEmitPatch(this));
      this.hookHttp();
    }
    this.protos.add(proto);
    this.enabled = true;
    this.send.enabled = true;
    return exports;
  }

  /** Undoes every patch, whichever ws copy it was applied to (the base class only remembers the last). */
  unpatch(): void {
    this.enabled = false;
    this.send.enabled = false;
    this.linkByFinishRequest = false;
    this.watchRequests = false;
    for (const proto of this.protos) {
      unwrap(proto, 'send');
      unwrapInherited(proto, 'emit');
    }
    this.protos.clear();
    for (const [target, wrappers] of this.httpWrappers) {
      // unwrap() leaves a wrapper another tool put on top of ours in place.
      for (const name of wrappers.keys()) unwrap(target, name);
    }
    this.httpWrappers.clear();
  }

  // ------------------------------------------------------------------ connect

  private hookHttp(): void {
    for (const [mod, secure] of [
      [http, false],
      [https, true],
    ] as const) {
      for (const name of ['request', 'get']) {
        wrap<AnyFunction>(mod, name, (original) => {
          const wrapper = getRequestPatch(this, secure)(original);
          let map = this.httpWrappers.get(mod);
          if (!map) this.httpWrappers.set(mod, (map = new Map()));
          map.set(name, wrapper as AnyFunction);
          return wrapper;
        });
      }
    }
  }

  handshake(original: AnyFunction, thisArg: unknown, opts: WsHandshakeOptions, secure: boolean): unknown {
    // A handshake started while a watched request delivers its response is ws following a
    // redirect (an app's own reconnect from 'unexpected-response' finds that attempt settled).
    if (this.delivering !== null && this.delivering.event === 'response') this.settle(this.delivering.attempt, SUCCESS);
    const origin = handshakeOrigin(opts, secure);
    const entry = this.moduleGuard.entry(origin);
    const breaker = entry.breaker;
    const op = this.moduleGuard.op(entry, 'connect');
    const start = breaker.now();
    // A connect is async: it holds a concurrency slot until it opens or fails.
    const token = breaker.acquire(start, SLOT);

    if (token === REJECT) {
      const err = breaker.rejection(start, op);
      // ClientRequest calls createConnection synchronously, before any DNS lookup or
      // socket, and turns a throw into an 'error' on the next tick; ws answers that with
      // 'error' then 'close' (1006), as for a refused connect. `opts` is ws's own object,
      // and an agent would open the socket itself, never calling createConnection.
      opts.agent = undefined;
      opts.createConnection = function refuse(): never {
        throw err;
      };
      return original.call(thisArg, opts);
    }

    const attempt: ConnectAttempt = { entry, token, start, op, origin, req: null, settled: false, reqShim: null, reqOwnEmit: undefined };
    if (this.linkByFinishRequest) takeOverFinishRequest(this, opts, attempt);
    let req: unknown;
    try {
      req = original.call(thisArg, opts);
    } catch (err) {
      this.settleError(attempt, err);
      throw err;
    }
    if (typeof req === 'object' && req !== null) {
      attempt.req = req;
      this.byRequest.set(req, attempt);
      if (this.watchRequests) watchRequest(this, req, attempt);
    }
    return req;
  }

  private unwatchRequest(attempt: ConnectAttempt): void {
    const req = attempt.req;
    const shim = attempt.reqShim;
    if (req === null || shim === null) return;
    attempt.reqShim = null;
    if (Object.getOwnPropertyDescriptor(req, 'emit')?.value !== shim) return;
    if (attempt.reqOwnEmit) Object.defineProperty(req, 'emit', attempt.reqOwnEmit);
    else delete (req as { emit?: unknown }).emit;
  }

  link(websocket: object, attempt: ConnectAttempt): void {
    const previous = this.attempts.get(websocket);
    // A hop that answered with a redirect ws followed: the peer is up.
    if (previous !== undefined && previous !== attempt) this.settle(previous, SUCCESS);
    this.attempts.set(websocket, attempt);
    this.send.rememberOrigin(websocket, attempt.origin);
    this.unwatchRequest(attempt);
  }

  /** Settles the connect an event ends. Runs before the app's listeners, so a reconnect from 'close' sees the new state. */
  observe(websocket: WsSocket, event: string, args: IArguments): void {
    try {
      let attempt = this.attempts.get(websocket);
      if (event === 'redirect') {
        if (attempt !== undefined) {
          this.attempts.delete(websocket);
          this.settle(attempt, SUCCESS);
        }
        return;
      }
      if (attempt === undefined) {
        attempt = this.unlinkedAttempt(websocket, event, args[1]);
        if (attempt === undefined) return;
        this.link(websocket, attempt);
      }
      // The last event that still finds the request on the WebSocket before 'open': link only.
      if (event === 'upgrade') return;
      this.attempts.delete(websocket);
      if (event === 'open') this.settle(attempt, SUCCESS);
      else if (event === 'error') this.settleError(attempt, args[1]);
      else if (event === 'unexpected-response')
        this.settleError(attempt, unexpectedResponse((args[2] as { statusCode?: unknown } | undefined)?.statusCode));
      // Closed without 'open' or 'error': nothing says the peer failed.
      else this.settle(attempt, IGNORED);
    } catch (err) {
      otelApi().diag.error('breakerbox: ws connect accounting failed', err);
    }
  }

  private unlinkedAttempt(websocket: WsSocket, event: string, arg: unknown): ConnectAttempt | undefined {
    const req = websocket._req;
    let attempt = req ? this.byRequest.get(req) : undefined;
    const d = this.delivering;
    if (attempt === undefined && event === 'error' && d !== null && d.event === 'error' && d.arg === arg) {
      attempt = d.attempt;
    }
    return attempt !== undefined && !attempt.settled ? attempt : undefined;
  }

  private settle(attempt: ConnectAttempt, outcome: OutcomeCode): void {
    if (attempt.settled) return;
    attempt.settled = true;
    this.unwatchRequest(attempt);
    const breaker = attempt.entry.breaker;
    breaker.release(attempt.token, outcome, attempt.start, breaker.now(), attempt.op);
  }

  private settleError(attempt: ConnectAttempt, err: unknown): void {
    if (attempt.settled) return;
    attempt.settled = true;
    this.unwatchRequest(attempt);
    attempt.entry.breaker.releaseError(attempt.token, err, attempt.start, attempt.op);
  }

  // --------------------------------------------------------------------- send
}

/** The patch of `http.request`/`https.request` (`get` in ws 7): where a ws connect is admitted or refused. */
function getRequestPatch(patch: WsPatch, secure: boolean): (original: AnyFunction) => AnyFunction {
  return function patchRequest(original) {
    return function request(this: unknown, ...args: unknown[]): unknown {
      // ws passes exactly one argument, its own fresh options object.
      if (!patch.enabled || args.length !== 1 || !isWsHandshakeOptions(args[0])) return original.apply(this, args);
      return patch.handshake(original, this, args[0], secure);
    };
  };
}

/**
 * The patch of the emit a WebSocket inherits: reads a connect's outcome from its events,
 * before any listener. `parent.emit` is looked up per call, so a later patch of it still applies.
 */
function getEmitPatch(patch: WsPatch): (parent: object) => AnyFunction {
  return function patchEmit(parent) {
    return function emit(this: unknown, event: unknown): boolean {
      if (
        patch.enabled &&
        (this as WsSocket)._isServer === false &&
        (event === 'open' ||
          event === 'error' ||
          event === 'unexpected-response' ||
          event === 'close' ||
          event === 'redirect' ||
          event === 'upgrade')
      ) {
        // eslint-disable-next-line prefer-rest-params
        patch.observe(this as WsSocket, event, arguments);
      }
      // Whatever emit returns or throws (no 'error' listener) reaches ws unchanged.
      // eslint-disable-next-line prefer-rest-params
      return (parent as Emitter).emit.apply(this, arguments as unknown as [string | symbol, ...unknown[]]);
    };
  };
}

/**
 * ws >= 8.13 ends the request through `opts.finishRequest(req, websocket)` when set: the
 * one place it hands out the WebSocket during construction, so the attempt is linked to
 * it before any event. The app's own finishRequest, if any, runs exactly as before; a
 * non-function one is left alone so ws reports it as it would.
 */
function takeOverFinishRequest(patch: WsPatch, opts: WsHandshakeOptions, attempt: ConnectAttempt): void {
  const own = opts.finishRequest;
  if (own && typeof own !== 'function') return;
  opts.finishRequest = function finishRequest(this: unknown, req: { end(): unknown }, websocket: object): unknown {
    patch.link(websocket, attempt);
    // eslint-disable-next-line prefer-rest-params
    if (typeof own === 'function') return (own as AnyFunction).apply(this, arguments as unknown as unknown[]);
    // What ws does without a finishRequest.
    req.end();
    return undefined;
  };
}

/**
 * Before ws 8.13 nothing hands us the WebSocket during construction. Every later event but
 * one finds it through `websocket._req` ('upgrade' is the last before 'open'); the
 * exception is a request 'error' (refused, reset, DNS), on which ws clears `_req` before
 * emitting. So the request's own emit is wrapped until the link is made, to name the error
 * being delivered, and the response: a redirect ws follows starts the next hop from it.
 */
function watchRequest(patch: WsPatch, req: object, attempt: ConnectAttempt): void {
  const inheritedEmit = (req as Emitter).emit;
  const shim = function emit(this: unknown, event: unknown, arg: unknown): unknown {
    // eslint-disable-next-line prefer-rest-params
    const args = arguments as unknown as [string | symbol, ...unknown[]];
    if (event !== 'error' && event !== 'response') return inheritedEmit.apply(this, args);
    const outer = patch.delivering;
    patch.delivering = { attempt, event, arg };
    try {
      return inheritedEmit.apply(this, args);
    } finally {
      patch.delivering = outer;
    }
  };
  attempt.reqOwnEmit = Object.getOwnPropertyDescriptor(req, 'emit');
  attempt.reqShim = shim;
  Object.defineProperty(req, 'emit', { value: shim, writable: true, enumerable: false, configurable: true });
}

/** Guards `ws` (>= 7, < 9): client connects and sends per URL origin, server sends per server port. */
export const wsPatcher: Patcher = {
  module: 'ws',
  definitions(guard: ModuleGuard): ModuleDefinition[] {
    const state = new WsPatch(guard);
    return [
      moduleDefinition(
        'ws',
        WS_SUPPORTED_VERSIONS,
        (exports: unknown, version?: string) => state.patch(exports, version),
        () => state.unpatch(),
      ),
    ];
  },
};

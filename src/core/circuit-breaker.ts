import { passPermit, slotPermit } from './breaker-machine';
import { SAMPLE_EVERY, type Limiter } from './limit/limiter';
import { BreakerSurface } from './breaker-surface';
import { BreakerTimeoutError } from './errors';
import { callOptions, DEFAULT_OPERATION, PLAIN_CALL, REJECT, SLOT, type CallOptions, type OperationIndex, type Permit } from './internal';
import { FAILURE, SUCCESS, TIMEOUT } from './recorder';
import { disposeLate, successOutcome, type ResultHooks } from './result-hooks';
import type { CircuitBreakerOptions, ErrorVerdict } from './types';
import type { AnyFunction } from './callable';

const EMPTY: unknown[] = [];
const EXECUTE = callOptions({ passSignal: true });

type Callback = (this: unknown, ...args: unknown[]) => unknown;

/**
 * A circuit breaker: the state machine of `BreakerMachine` and the surface of `BreakerSurface` plus the forms a guarded call
 * takes (promise, sync, callback, with a call timeout) and the fallback that may answer it.
 * This file only adapts calls to permits; what a permit means is decided in the machine.
 */
export class CircuitBreaker extends BreakerSurface {
  /** Operation index for calls made through the public API (execute, wrap...); 0 when unset. */
  private operationOf: (() => OperationIndex) | null = null;

  constructor(options: CircuitBreakerOptions) {
    super(options);
  }

  /** Runs `fn` guarded; always returns a Promise. `fn` gets an AbortSignal when callTimeoutMs is set. */
  execute<T>(fn: (signal?: AbortSignal) => T | PromiseLike<T>): Promise<T> {
    // The closed, untimed case goes straight to the lean path, so `execute` stays small enough
    // to inline whatever `invoke` grows into (the closed path is what every call pays).
    if (!this.timed && this._state === 'closed')
      return this.invokeLean(fn as AnyFunction, undefined, EMPTY, this.publicOperation()) as Promise<T>;
    return this.invoke(fn as AnyFunction, undefined, EMPTY, this.publicOperation(), EXECUTE) as Promise<T>;
  }

  /** Runs a synchronous `fn` guarded: returns or throws synchronously. callTimeoutMs does not apply. */
  executeSync<T>(fn: () => T): T {
    return this.invokeSync(fn as AnyFunction, undefined, EMPTY, this.publicOperation()) as T;
  }

  /**
   * Runs a callback-style `fn(...args, cb)` guarded. `callback` is called exactly once with
   * what `fn` passed it; a rejection reaches it asynchronously, never synchronously.
   */
  executeCallback(
    fn: (...args: never[]) => unknown,
    args: readonly unknown[],
    callback: (err: unknown, ...results: unknown[]) => void,
  ): unknown {
    const all = [...args, callback];
    return this.invokeCallback(fn as AnyFunction, undefined, all, args.length, this.publicOperation(), PLAIN_CALL);
  }

  /** The same function, guarded: same arguments and `this`, always returns a Promise. */
  wrap<A extends unknown[], R>(fn: (...args: A) => R | PromiseLike<R>): (...args: A) => Promise<Awaited<R>> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const breaker = this;
    return function guarded(this: unknown, ...args: A): Promise<Awaited<R>> {
      return breaker.invoke(fn as AnyFunction, this, args, breaker.publicOperation(), PLAIN_CALL) as Promise<Awaited<R>>;
    };
  }

  /** The breaker's own isFailure and fallback functions (the registry replaces them on request). */
  get functions(): { readonly isFailure: ((err: unknown) => boolean | ErrorVerdict) | null; readonly fallback: AnyFunction | null } {
    return { isFailure: this.isFailureFn, fallback: this.ownFallback };
  }

  /**
   * @internal
   * Lets the registry label calls made through `execute`/`executeSync`/`executeCallback`/`wrap`
   * with an app-level operation (withOperation) instead of the default one.
   */
  labelOperationsWith(resolve: (() => OperationIndex) | null): void {
    this.operationOf = resolve;
  }

  private publicOperation(): OperationIndex {
    return this.operationOf === null ? DEFAULT_OPERATION : this.operationOf();
  }

  /**
   * @internal
   * Guarded promise call with `this` and arguments, used by wrap() and the patchers; `hooks`
   * (shared per operation) judge a success and dispose of a result that arrives too late.
   */
  invoke(
    fn: AnyFunction,
    thisArg: unknown,
    args: unknown[],
    operation: OperationIndex,
    options: CallOptions = PLAIN_CALL,
  ): Promise<unknown> {
    const hooks = options.hooks;
    if (!this.timed && this._state === 'closed' && hooks === null && (this.limiter === null || options.limit === SLOT))
      return this.invokeLean(fn, thisArg, args, operation);
    const closed = this._state === 'closed';
    const start = closed && !this.timed && !this.sampledLimit ? -1 : this.clock();
    const token = closed && this.limiter === null ? passPermit(this.generation) : this.acquire(start, options.limit);
    if (token === REJECT) return this.onRejectedAsync(args, start, operation);
    if (this.o.callTimeoutMs > 0) return this.invokeWithTimeout(fn, thisArg, args, operation, options.passSignal, token, start, hooks);
    let result: unknown;
    try {
      result = args === EMPTY ? fn.call(thisArg) : fn.apply(thisArg, args);
    } catch (err) {
      return this.onErrorAsync(token, err, start, operation, args);
    }
    // Chain on the library's own thenable so a custom Promise class (pg's `Promise` option,
    // bluebird) is what the caller gets back, as without us.
    return thenableOf(result).then(
      (value) => {
        const outcome = successOutcome(hooks, value, thisArg);
        this.release(token, outcome, start, start < 0 ? -1 : this.clock(), operation);
        if (this.events !== null) this.emitCall(outcome, start, undefined);
        return value;
      },
      (err: unknown) => this.onErrorAsync(token, err, start, operation, args),
    );
  }

  /**
   * The closed, untimed path: a success clears the failure streak and is counted for the
   * measured rate without a clock read. Kept small so the JIT inlines it into `execute`.
   */
  private invokeLean(fn: AnyFunction, thisArg: unknown, args: unknown[], operation: OperationIndex): Promise<unknown> {
    if (this.limiter !== null) return this.invokeLeanLimited(this.limiter, fn, thisArg, args, operation);
    const generation = this.generation;
    let result: unknown;
    try {
      result = args === EMPTY ? fn.call(thisArg) : fn.apply(thisArg, args);
    } catch (err) {
      return this.onErrorAsync(passPermit(generation), err, -1, operation, args);
    }
    return thenableOf(result).then(
      (value) => {
        if (generation === this.generation) {
          if (this.consecutive !== null) this.consecutive.count = 0;
          this.unfoldedSuccesses++;
        }
        return value;
      },
      (err: unknown) => this.onErrorAsync(passPermit(generation), err, -1, operation, args),
    );
  }

  /**
   * The lean path of a breaker with a concurrency limit: the slot is taken and given back
   * here. The clock is read only when the limit learns from round trips (not for a fixed
   * one), and then for one call in SAMPLE_EVERY. Failures go through the full release, which
   * gives the slot back from the permit.
   */
  private invokeLeanLimited(
    limiter: Limiter,
    fn: AnyFunction,
    thisArg: unknown,
    args: unknown[],
    operation: OperationIndex,
  ): Promise<unknown> {
    if (limiter.inflight >= limiter.algorithm.limit && this.o.mode === 'enforce') {
      this.refusedByLimit = true;
      return this.onRejectedAsync(args, -1, operation);
    }
    const inflight = ++limiter.inflight;
    const generation = this.generation;
    const sampled = limiter.sampled && (++limiter.admitted & (SAMPLE_EVERY - 1)) === 0;
    const start = sampled ? this.clock() : -1;
    let result: unknown;
    try {
      result = args === EMPTY ? fn.call(thisArg) : fn.apply(thisArg, args);
    } catch (err) {
      return this.onErrorAsync(slotPermit(generation, inflight), err, start, operation, args);
    }
    return thenableOf(result).then(
      (value) => {
        if (sampled) {
          const end = this.clock();
          limiter.complete(end, end - start, inflight, false);
        } else {
          limiter.free();
        }
        if (generation === this.generation) {
          if (this.consecutive !== null) this.consecutive.count = 0;
          this.unfoldedSuccesses++;
        }
        return value;
      },
      (err: unknown) => this.onErrorAsync(slotPermit(generation, inflight), err, start, operation, args),
    );
  }

  /** @internal Guarded synchronous call: returns or throws synchronously. */
  invokeSync(fn: AnyFunction, thisArg: unknown, args: unknown[], operation: OperationIndex): unknown {
    const closed = this._state === 'closed';
    const start = closed && !this.timed ? -1 : this.clock();
    const token = closed ? passPermit(this.generation) : this.acquire(start);
    if (token === REJECT) {
      const rejected = this.rejection(start, operation);
      if (this.fallbackFn === null) throw rejected;
      return this.runFallback(args, rejected, false);
    }
    let value: unknown;
    try {
      value = fn.apply(thisArg, args);
    } catch (err) {
      const outcome = this.releaseError(token, err, start, operation);
      if ((outcome === FAILURE || outcome === TIMEOUT) && this.failureFallback !== null) return this.runFallback(args, err, false);
      throw err;
    }
    this.release(token, SUCCESS, start, start < 0 ? -1 : this.clock(), operation);
    if (this.events !== null) this.emitCall(SUCCESS, start, undefined);
    return value;
  }

  /**
   * @internal
   * Guarded callback call. `args[callbackIndex]` is the caller's callback; it is replaced by
   * one that records the outcome and then calls the original exactly as the library did
   * (same `this`, same arguments), so a throw from it propagates unchanged.
   */
  invokeCallback(
    fn: AnyFunction,
    thisArg: unknown,
    args: unknown[],
    callbackIndex: number,
    operation: OperationIndex,
    options: CallOptions = PLAIN_CALL,
  ): unknown {
    const hooks = options.hooks;
    const callback = args[callbackIndex] as Callback;
    const closed = this._state === 'closed';
    const start = closed && !this.timed && !this.sampledLimit ? -1 : this.clock();
    const token = closed && this.limiter === null ? passPermit(this.generation) : this.acquire(start, options.limit);
    if (token === REJECT) {
      const rejected = this.rejection(start, operation);
      if (this.fallbackFn === null) {
        process.nextTick(callback, rejected);
      } else {
        this.deliverFallback(callback, withoutIndex(args, callbackIndex), rejected);
      }
      return undefined;
    }
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const breaker = this;
    let released = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | null = null;
    const guardedCallback = function (this: unknown, err?: unknown, value?: unknown): unknown {
      if (timedOut) {
        // The caller already got ECIRCUITTIMEOUT; whatever this produced is nobody's now.
        if (err === null || err === undefined) disposeLate(hooks, value, thisArg);
        return undefined;
      }
      if (!released) {
        released = true;
        if (timer !== null) clearTimeout(timer);
        if (err === null || err === undefined) {
          const outcome = successOutcome(hooks, value, thisArg);
          breaker.release(token, outcome, start, start < 0 ? -1 : breaker.clock(), operation);
          if (breaker.events !== null) breaker.emitCall(outcome, start, undefined);
        } else {
          const outcome = breaker.releaseError(token, err, start, operation);
          if ((outcome === FAILURE || outcome === TIMEOUT) && breaker.failureFallback !== null) {
            breaker.deliverFallback(callback, withoutIndex(args, callbackIndex), err);
            return undefined;
          }
        }
      }
      // eslint-disable-next-line prefer-rest-params
      return callback.apply(this, arguments as unknown as unknown[]);
    };
    const patched = args.slice();
    patched[callbackIndex] = guardedCallback;
    if (this.o.callTimeoutMs > 0) {
      timer = setTimeout(() => {
        if (released) return;
        released = true;
        timedOut = true;
        const err = BreakerTimeoutError.create(this.name, this.o.callTimeoutMs);
        this.releaseError(token, err, start, operation);
        if (this.failureFallback !== null) this.deliverFallback(callback, withoutIndex(args, callbackIndex), err);
        else callback(err);
      }, this.o.callTimeoutMs);
      timer.unref();
    }
    try {
      return fn.apply(thisArg, patched);
    } catch (err) {
      // A synchronous throw (bad arguments, typically): the callback will never run.
      if (!released) {
        released = true;
        if (timer !== null) clearTimeout(timer);
        this.releaseError(token, err, start, operation);
      }
      throw err;
    }
  }

  private onRejectedAsync(args: unknown[], now: number, operation: OperationIndex): Promise<unknown> {
    const err = this.rejection(now, operation);
    if (this.fallbackFn === null) return Promise.reject(err);
    return this.runFallback(args, err, true) as Promise<unknown>;
  }

  private onErrorAsync(token: Permit, err: unknown, start: number, operation: OperationIndex, args: unknown[]): Promise<unknown> {
    const outcome = this.releaseError(token, err, start, operation);
    if ((outcome === FAILURE || outcome === TIMEOUT) && this.failureFallback !== null)
      return this.runFallback(args, err, true) as Promise<unknown>;
    return Promise.reject(err);
  }

  private invokeWithTimeout(
    fn: AnyFunction,
    thisArg: unknown,
    args: unknown[],
    operation: OperationIndex,
    passSignal: boolean,
    token: Permit,
    start: number,
    hooks: ResultHooks | null,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const controller = new AbortController();
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        const err = BreakerTimeoutError.create(this.name, this.o.callTimeoutMs);
        controller.abort(err);
        this.onErrorAsync(token, err, start, operation, args).then(resolve, reject);
      }, this.o.callTimeoutMs);
      timer.unref();
      const onValue = (value: unknown): void => {
        if (done) {
          disposeLate(hooks, value, thisArg);
          return;
        }
        done = true;
        clearTimeout(timer);
        const outcome = successOutcome(hooks, value, thisArg);
        this.release(token, outcome, start, this.clock(), operation);
        if (this.events !== null) this.emitCall(outcome, start, undefined);
        resolve(value);
      };
      const onError = (err: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.onErrorAsync(token, err, start, operation, args).then(resolve, reject);
      };
      try {
        const result = passSignal ? fn.call(thisArg, controller.signal) : fn.apply(thisArg, args);
        Promise.resolve(result).then(onValue, onError);
      } catch (err) {
        onError(err);
      }
    });
  }
}

function thenableOf(value: unknown): Promise<unknown> {
  // Spelled out rather than isThenable(): this is on every guarded promise call.
  if (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  ) {
    return value as Promise<unknown>;
  }
  return Promise.resolve(value);
}

function withoutIndex(args: unknown[], index: number): unknown[] {
  const out = args.slice();
  out.splice(index, 1);
  return out;
}

/**
 * Queries through pg's Submittable protocol, and statements let through ungated inside a
 * transaction while the breaker is not closed: how their outcomes are read and reported.
 */
import type { AnyFunction } from '../core/callable';
import { isThenable } from '../core/callable';
import type { CircuitBreaker } from '../core/circuit-breaker';
import { FORCED_SLOT, REJECT, SLOT, SUCCESS, UNGATED, type OperationIndex, type Permit } from '../core/internal';
import type { ManagedBreaker } from '../registry';
import type { ModuleGuard } from './module-guard';
import type { PgClient, Submittable } from './pg-internal-types';
import { CHAINS, CLOSES, OPENS, transactions, type StatementKind } from './pg-transaction';

/** What a Submittable query needs of the pg patch. */
export interface PgQueryPatch {
  readonly guard: ModuleGuard;
  clientEntry(client: PgClient): ManagedBreaker;
}

/** The Submittable methods through which pg reports that a statement was answered or failed. */
const SETTLING_METHODS = ['handleError', 'handleReadyForQuery', 'handlePortalSuspended'] as const;

/** Reports a settled call: through the breaker when it was admitted, else straight to its counters. */
export function settle(breaker: CircuitBreaker, token: Permit, start: number, op: OperationIndex, failed: boolean, err: unknown): void {
  if (token === UNGATED) {
    if (failed) breaker.observeError(op, err, start);
    else breaker.observe(op, SUCCESS, start);
  } else if (failed) {
    breaker.releaseError(token, err, start, op);
  } else {
    breaker.release(token, SUCCESS, start, breaker.now(), op);
  }
}

/** State changes a statement makes as soon as it is issued (BEGIN waits until admitted). */
export function trackIssued(client: object, kind: StatementKind): void {
  if (kind === CLOSES) transactions.closed(client);
  else if (kind === CHAINS) transactions.opened(client);
}

/**
 * Older pg versions store the callback on the caller's query config object; with our wrapper
 * in the argument list that would be our function. Put back what pg itself would have left
 * there. Newer pg copies the config first: then nothing changed and nothing is touched.
 */
export function restoringConfigCallback(config: object, callback: AnyFunction): AnyFunction {
  const holder = config as { callback?: unknown };
  const before = holder.callback;
  return function (this: unknown, ...args: unknown[]): unknown {
    if (holder.callback !== before && holder.callback !== callback) holder.callback = callback;
    return callback.apply(this, args);
  };
}

function deliverToSubmittable(submittable: Submittable, err: unknown, connection: unknown): void {
  (submittable.handleError as AnyFunction).call(submittable, err, connection);
}

/**
 * Observes a Submittable's outcome by wrapping the methods pg calls when the statement is
 * answered or fails: pg gives no other signal, and adding 'end'/'error' listeners would change
 * whether its errors crash the app. The wrappers are own properties of that one object, made
 * like the property they shadow, and the object is put back as it was at the first signal
 * (for a cursor: its first batch of rows), so later calls cost nothing and nothing lingers.
 * Returns the undo for when pg never takes the object.
 */
function watchSubmittable(submittable: Submittable, breaker: CircuitBreaker, token: Permit, start: number, op: OperationIndex): () => void {
  const target = submittable as unknown as Record<string, unknown>;
  const saved: (PropertyDescriptor | undefined)[] = [];
  const wrappers: (AnyFunction | undefined)[] = [];
  let settled = false;
  const restore = (): void => {
    for (let i = 0; i < SETTLING_METHODS.length; i++) {
      const name = SETTLING_METHODS[i];
      // Leave alone what we did not wrap, or what the object itself replaced meanwhile.
      if (wrappers[i] === undefined || Object.getOwnPropertyDescriptor(target, name)?.value !== wrappers[i]) continue;
      const desc = saved[i];
      if (desc === undefined) delete target[name];
      else Object.defineProperty(target, name, desc);
    }
  };
  for (let i = 0; i < SETTLING_METHODS.length; i++) {
    const name = SETTLING_METHODS[i];
    const own = Object.getOwnPropertyDescriptor(target, name);
    const method = target[name];
    saved.push(own);
    if (typeof method !== 'function' || (own !== undefined && !own.configurable)) {
      wrappers.push(undefined);
      continue;
    }
    const failed = name === 'handleError';
    const wrapper = function (this: unknown, ...args: unknown[]): unknown {
      if (!settled) {
        settled = true;
        restore();
        settle(breaker, token, start, op, failed, args[0]);
      }
      return (method as AnyFunction).apply(this, args);
    };
    wrappers.push(wrapper);
    Object.defineProperty(target, name, { configurable: true, writable: true, enumerable: own?.enumerable ?? false, value: wrapper });
  }
  return () => {
    if (settled) return;
    settled = true;
    restore();
  };
}

/**
 * A statement inside a transaction (or one ending it) while the breaker is not closed: it
 * runs untouched and its outcome is counted, but it neither waits for nor moves the breaker.
 */
export function observeQuery(
  original: AnyFunction,
  client: PgClient,
  config: unknown,
  values: unknown,
  cb: AnyFunction | undefined,
  cbIndex: number,
  breaker: CircuitBreaker,
  op: OperationIndex,
): unknown {
  const start = breaker.now();
  if (cb === undefined) {
    const result = original.call(client, config, values);
    if (!isThenable(result)) return result;
    return result.then(
      (value) => {
        settle(breaker, UNGATED, start, op, false, undefined);
        return value;
      },
      (err: unknown) => {
        settle(breaker, UNGATED, start, op, true, err);
        throw err;
      },
    );
  }
  const userCallback = typeof config === 'object' ? restoringConfigCallback(config as object, cb) : cb;
  let settled = false;
  const observed = function (this: unknown, ...args: unknown[]): unknown {
    if (!settled) {
      settled = true;
      const err = args[0];
      settle(breaker, UNGATED, start, op, err !== null && err !== undefined, err);
    }
    return userCallback.apply(this, args);
  };
  return cbIndex === 1 ? original.call(client, config, observed) : original.call(client, config, values, observed);
}

/**
 * A Submittable (pg.Query, a cursor, a stream): refused by handing it the error the way pg
 * hands it errors; admitted, its outcome is read by watching the methods pg settles it through.
 */
export function querySubmittable(
  patch: PgQueryPatch,
  original: AnyFunction,
  client: PgClient,
  submittable: Submittable,
  values: unknown,
  callback: unknown,
  kind: StatementKind,
): unknown {
  // Without handleError there is no way to hand it a rejection the way pg hands it errors.
  if (typeof submittable.handleError !== 'function' || !Object.isExtensible(submittable)) {
    if (kind === OPENS) transactions.opened(client);
    else trackIssued(client, kind);
    return original.call(client, submittable, values, callback);
  }
  const entry = patch.clientEntry(client);
  const breaker = entry.breaker;
  const op = patch.guard.op(entry, 'query');
  trackIssued(client, kind);
  const start = breaker.now();
  let token: Permit = UNGATED;
  const inTransaction = kind >= CLOSES || transactions.inTransaction(client);
  if (breaker.state === 'closed' || !inTransaction) {
    // Async: it holds a concurrency slot; inside a transaction it is never refused (see pg.ts).
    token = breaker.acquire(start, inTransaction ? FORCED_SLOT : SLOT);
    if (token === REJECT) {
      const err = breaker.rejection(start, op);
      // What pg does with the callback arguments of a Submittable before queueing it.
      if (!submittable.callback) {
        if (typeof values === 'function') submittable.callback = values;
        else if (callback) submittable.callback = callback;
      }
      process.nextTick(deliverToSubmittable, submittable, err, client.connection);
      return submittable;
    }
    if (kind === OPENS) transactions.opened(client);
  }
  const abandon = watchSubmittable(submittable, breaker, token, start, op);
  try {
    return original.call(client, submittable, values, callback);
  } catch (err) {
    abandon();
    settle(breaker, token, start, op, true, err);
    throw err;
  }
}

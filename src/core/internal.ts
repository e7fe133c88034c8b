// The whole surface patchers (src/instrumentation) may use of a breaker beyond its public
// API: permits, outcome codes, operation indices and call options. Branded numbers, so a
// permit, an outcome and an operation cannot be passed in each other's place without the
// compiler noticing. Every value here and every breaker method that takes one is @internal:
// stripped from the published .d.ts (tsconfig.build.json `stripInternal`).
import type { ResultHooks } from './result-hooks';

declare const permitBrand: unique symbol;
declare const operationBrand: unique symbol;

/** What `acquire()` hands out; given back to `release()`/`releaseError()` exactly once. */
export type Permit = number & { readonly [permitBrand]: true };
/** An operation's index in its breaker's call stats (0: the breaker's default operation). */
export type OperationIndex = number & { readonly [operationBrand]: true };

/** @internal `acquire()` refused the call. */
export const REJECT = -1 as Permit;
/**
 * @internal A call let through without asking the breaker (a statement inside a transaction
 * that must finish): it is only observed, never released.
 */
export const UNGATED = -2 as Permit;

export { FAILURE, IGNORED, LIMITED, NO_EVIDENCE, REJECTED, SUCCESS, TIMEOUT, type OutcomeCode } from './recorder';

declare const limitUseBrand: unique symbol;
/** How a call meets its breaker's concurrency limit (when it has one). */
export type LimitUse = number & { readonly [limitUseBrand]: true };
/** @internal Takes no slot: sync calls, observations. */
export const NO_SLOT = 0 as LimitUse;
/** @internal Takes a slot, or is refused when none is free: every guarded async call. */
export const SLOT = 1 as LimitUse;
/**
 * @internal Takes a slot even over the limit: a call that must run once admitted work depends
 * on it (a statement inside a pg transaction). It still counts, so new work waits for it.
 */
export const FORCED_SLOT = 2 as LimitUse;

/** @internal How `invoke`/`invokeCallback` run a call. One shared object per call site, never one per call. */
export interface CallOptions {
  /** Call `fn(signal)` with the call-timeout AbortSignal instead of with the arguments (execute). */
  readonly passSignal: boolean;
  /** What the patcher knows about a success or a late result of this operation. */
  readonly hooks: ResultHooks | null;
  /** How the call meets the concurrency limit; SLOT unless told. */
  readonly limit: LimitUse;
}

/** @internal Builds a CallOptions; every one has the same shape, so call sites stay monomorphic. */
export function callOptions(options: { passSignal?: boolean; hooks?: ResultHooks | null; limit?: LimitUse } = {}): CallOptions {
  return { passSignal: options.passSignal ?? false, hooks: options.hooks ?? null, limit: options.limit ?? SLOT };
}

/** @internal The breaker's default operation (index 0 in its call stats). */
export const DEFAULT_OPERATION = 0 as OperationIndex;

/** @internal Arguments as given, no hooks: what most guarded calls use. */
export const PLAIN_CALL: CallOptions = callOptions();

/** @internal As PLAIN_CALL, never refused by the concurrency limit (see FORCED_SLOT). */
export const FORCED_CALL: CallOptions = callOptions({ limit: FORCED_SLOT });

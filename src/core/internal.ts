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

export { FAILURE, IGNORED, NO_EVIDENCE, REJECTED, SUCCESS, TIMEOUT, type OutcomeCode } from './recorder';

/** @internal How `invoke`/`invokeCallback` run a call. One shared object per call site, never one per call. */
export interface CallOptions {
  /** Call `fn(signal)` with the call-timeout AbortSignal instead of with the arguments (execute). */
  readonly passSignal: boolean;
  /** What the patcher knows about a success or a late result of this operation. */
  readonly hooks: ResultHooks | null;
}

/** @internal Builds a CallOptions; every one has the same shape, so call sites stay monomorphic. */
export function callOptions(options: { passSignal?: boolean; hooks?: ResultHooks | null } = {}): CallOptions {
  return { passSignal: options.passSignal ?? false, hooks: options.hooks ?? null };
}

/** @internal The breaker's default operation (index 0 in its call stats). */
export const DEFAULT_OPERATION = 0 as OperationIndex;

/** @internal Arguments as given, no hooks: what most guarded calls use. */
export const PLAIN_CALL: CallOptions = callOptions();

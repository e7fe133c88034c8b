import { NO_EVIDENCE, SUCCESS, type OutcomeCode } from './recorder';

/**
 * What a patcher tells the breaker about the results of one kind of call, beyond its errors.
 * One shared object per patched operation, so nothing is allocated per call. For patchers
 * only (passed in a CallOptions, see internal.ts); kept in the .d.ts as a plain type.
 */
export interface ResultHooks {
  /**
   * False when a call succeeded without touching the dependency (pg-pool handing out an idle
   * client): it says nothing about the dependency's health, so it neither clears a failure
   * streak nor serves as a half-open trial (the trial slot is freed). Counted as `ignored`.
   */
  readonly touched?: (value: unknown, thisArg: unknown) => boolean;
  /**
   * Disposes of what a call produced after its caller already got ECIRCUITTIMEOUT. Nobody
   * will ever use or release it, so without this it leaks: a pooled client the pool waits
   * for forever, a connection, a file descriptor. `value` is what the call resolved with (or
   * its callback's first result), `thisArg` the object it was called on.
   */
  readonly disposeLate?: (value: unknown, thisArg: unknown) => void;
}

/** Runs `hooks.disposeLate` for a result nobody is waiting for; a throwing hook changes nothing. */
export function disposeLate(hooks: ResultHooks | null, value: unknown, thisArg: unknown): void {
  if (hooks === null || hooks.disposeLate === undefined) return;
  try {
    hooks.disposeLate(value, thisArg);
  } catch {
    // Cleanup of an abandoned result must never reach the app: nobody is there to catch it.
  }
}

/** @internal SUCCESS, or NO_EVIDENCE when the hooks say the call never touched the dependency (a throwing hook: SUCCESS). */
export function successOutcome(hooks: ResultHooks | null, value: unknown, thisArg: unknown): OutcomeCode {
  if (hooks === null || hooks.touched === undefined) return SUCCESS;
  try {
    return hooks.touched(value, thisArg) ? SUCCESS : NO_EVIDENCE;
  } catch {
    return SUCCESS;
  }
}

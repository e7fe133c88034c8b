import type { BreakerState } from './types';

function rejectionMessage(breaker: string, state: BreakerState): string {
  return `Circuit breaker "${breaker}" is ${state}: call rejected without reaching the dependency`;
}

/** Milliseconds from `now` until `retryAt` (never negative), or null when no trial is scheduled. */
export function msUntilRetry(retryAt: number | null, now: number): number | null {
  return retryAt === null ? null : Math.max(0, Math.ceil(retryAt - now));
}

/** Thrown (or passed to the callback) when an open breaker refuses a call. */
export class BreakerOpenError extends Error {
  declare readonly code: 'ECIRCUITOPEN';
  /** Name of the breaker that refused the call. */
  readonly breaker: string;
  /** State of the breaker when it refused: open, half_open (no trial slot free) or forced_open. */
  readonly state: BreakerState;
  declare private readonly retryAt: number | null;
  declare private readonly clock: () => number;

  constructor(breaker: string, state: BreakerState, retryAt: number | null, clock: () => number) {
    super(rejectionMessage(breaker, state));
    this.breaker = breaker;
    this.state = state;
    Object.defineProperty(this, 'retryAt', { value: retryAt });
    Object.defineProperty(this, 'clock', { value: clock });
  }

  /**
   * Milliseconds until the breaker lets a trial call through, counting down as time passes;
   * 0 when a trial may run now, null while forced open (only an operator closes it).
   */
  get retryAfterMs(): number | null {
    return msUntilRetry(this.retryAt, this.clock());
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, breaker: this.breaker, state: this.state, retryAfterMs: this.retryAfterMs };
  }
}
Object.defineProperty(BreakerOpenError.prototype, 'name', { value: 'BreakerOpenError' });

/**
 * Builds a breaker's rejections without running the Error constructor, so no stack is
 * captured: a refused call is identified by `code`, `breaker` and `retryAfterMs`, and a
 * stack of breakerbox internals would cost more than the rest of the rejection. Every rejection of one open period has the same message,
 * retry time and clock, so those live on a small prototype shared by the period's errors
 * (inherited, hence out of `Object.keys`, JSON and crash output), and each rejection is one
 * object with two own fields.
 */
export class RejectionFactory {
  private proto: object | null = null;
  private protoState: BreakerState | null = null;
  private protoRetryAt: number | null = null;

  constructor(private readonly breaker: string, private readonly clock: () => number) {}

  make(state: BreakerState, retryAt: number | null): BreakerOpenError {
    if (this.proto === null || state !== this.protoState || retryAt !== this.protoRetryAt) {
      this.proto = Object.create(BreakerOpenError.prototype, {
        message: { value: rejectionMessage(this.breaker, state), writable: true, configurable: true },
        retryAt: { value: retryAt },
        clock: { value: this.clock },
      });
      this.protoState = state;
      this.protoRetryAt = retryAt;
    }
    const err = Object.create(this.proto as object) as { breaker: string; state: BreakerState };
    err.breaker = this.breaker;
    err.state = state;
    return err as unknown as BreakerOpenError;
  }
}
Object.defineProperty(BreakerOpenError.prototype, 'code', { value: 'ECIRCUITOPEN', enumerable: true });
// Rejections built by RejectionFactory have no own stack; this keeps `err.stack` a useful string.
Object.defineProperty(BreakerOpenError.prototype, 'stack', {
  get(this: BreakerOpenError) {
    return `${this.name}: ${this.message}\n    (rejected by breakerbox; no stack is captured for rejections)`;
  },
  configurable: true,
});

/** The guarded call did not settle within `callTimeoutMs`. */
export class BreakerTimeoutError extends Error {
  readonly code = 'ECIRCUITTIMEOUT' as const;
  readonly breaker: string;
  readonly timeoutMs: number;

  constructor(breaker: string, timeoutMs: number) {
    super(`Circuit breaker "${breaker}": call did not settle within ${timeoutMs} ms`);
    this.breaker = breaker;
    this.timeoutMs = timeoutMs;
  }
}
Object.defineProperty(BreakerTimeoutError.prototype, 'name', { value: 'BreakerTimeoutError' });

/** Programmatic misuse (bad options, bad arguments). */
export class BreakerOptionsError extends TypeError {
  readonly code = 'EBREAKEROPTIONS' as const;
}
Object.defineProperty(BreakerOptionsError.prototype, 'name', { value: 'BreakerOptionsError' });

import type { BreakerState } from './types';

/** Thrown (or passed to the callback) when an open breaker refuses a call. */
export class BreakerOpenError extends Error {
  declare readonly code: 'ECIRCUITOPEN';
  /** Name of the breaker that refused the call. */
  readonly breaker: string;
  /** State of the breaker when it refused: open, half_open (no trial slot free) or forced_open. */
  readonly state: BreakerState;
  private readonly retryAt: number | null;
  private readonly clock: () => number;

  constructor(breaker: string, state: BreakerState, retryAt: number | null, clock: () => number) {
    super(`Circuit breaker "${breaker}" is ${state}: call rejected without reaching the dependency`);
    this.breaker = breaker;
    this.state = state;
    this.retryAt = retryAt;
    this.clock = clock;
  }

  /**
   * The breaker's own way to build a rejection: a real BreakerOpenError (instanceof Error,
   * same fields) made without running the Error constructor, so no stack is captured. A
   * refused call is identified by `code`, `breaker` and `retryAfterMs`; its stack would only
   * show breakerbox internals, and capturing it costs more than the rest of the rejection.
   */
  static create(breaker: string, state: BreakerState, retryAt: number | null, clock: () => number): BreakerOpenError {
    const err = Object.create(BreakerOpenError.prototype) as { -readonly [K in keyof BreakerOpenError]: BreakerOpenError[K] };
    err.message = `Circuit breaker "${breaker}" is ${state}: call rejected without reaching the dependency`;
    err.breaker = breaker;
    err.state = state;
    (err as unknown as { retryAt: number | null }).retryAt = retryAt;
    (err as unknown as { clock: () => number }).clock = clock;
    return err as BreakerOpenError;
  }

  /**
   * Milliseconds until the breaker lets a trial call through, counting down as time passes;
   * 0 when a trial may run now, null while forced open (only an operator closes it).
   */
  get retryAfterMs(): number | null {
    if (this.retryAt === null) return null;
    return Math.max(0, Math.ceil(this.retryAt - this.clock()));
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, breaker: this.breaker, state: this.state, retryAfterMs: this.retryAfterMs };
  }
}
Object.defineProperty(BreakerOpenError.prototype, 'name', { value: 'BreakerOpenError' });
Object.defineProperty(BreakerOpenError.prototype, 'code', { value: 'ECIRCUITOPEN', enumerable: true });
// Rejections built by create() have no own stack; this keeps `err.stack` a useful string.
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

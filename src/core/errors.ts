import type { BreakerState } from './types';

/**
 * A rejection carries everything a caller needs (`code`, `breaker`, `state`,
 * `retryAfterMs`), so it is built without capturing a stack: the stack of a refused
 * call says nothing about the outage and costs more than the rest of the rejection.
 */
function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Thrown (or passed to the callback) when an open breaker refuses a call. */
export class BreakerOpenError extends Error {
  readonly code = 'ECIRCUITOPEN' as const;
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

  static create(breaker: string, state: BreakerState, retryAt: number | null, clock: () => number): BreakerOpenError {
    return withoutStack(() => new BreakerOpenError(breaker, state, retryAt, clock));
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

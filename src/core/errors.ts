import type { BreakerState } from './types';

function rejectionMessage(breaker: string, state: BreakerState): string {
  return `Circuit breaker "${breaker}" is ${state}: call rejected without reaching the dependency (ECIRCUITOPEN)`;
}

/** Milliseconds from `now` until `retryAt` (never negative), or null when no trial is scheduled. */
export function msUntilRetry(retryAt: number | null, now: number): number | null {
  return retryAt === null ? null : Math.max(0, Math.ceil(retryAt - now));
}

/**
 * What every rejection of one open period shares: the time a trial is allowed and the
 * breaker's clock. Kept out of the error's own properties, so printing, JSON and
 * structured clones show only the public fields.
 */
interface RetryTicket {
  readonly retryAt: number | null;
  readonly clock: () => number;
}

/** What `err.stack` says of an error built without capturing one. */
function stackOf(name: string, message: string, why: string): string {
  return `${name}: ${message}\n    (${why})`;
}

const REJECTION_STACK_NOTE = 'rejected by breakerbox; no stack is captured for rejections';

/**
 * Runs `build` with stack capture off. A breakerbox error is identified by its code and
 * fields; a stack of breakerbox internals (or of a timer) says nothing and would cost more
 * than the rest of a rejection. A non-number `Error.stackTraceLimit` makes V8 skip the
 * capture altogether (cheaper than a limit of 0, which still walks into it); the error then
 * gets a one-line `stack` of its own.
 */
function withoutStack<T>(build: () => T): T {
  const limit = Error.stackTraceLimit;
  (Error as { stackTraceLimit: unknown }).stackTraceLimit = undefined;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Thrown (or passed to the callback) when an open breaker refuses a call. */
export class BreakerOpenError extends Error {
  // Own and enumerable, like Node's own error codes: crash output and loggers print it.
  declare readonly code: 'ECIRCUITOPEN';
  /** Name of the breaker that refused the call. */
  declare readonly breaker: string;
  /** State of the breaker when it refused: open, half_open (no trial slot free) or forced_open. */
  declare readonly state: BreakerState;
  #ticket: RetryTicket;

  constructor(breaker: string, state: BreakerState, retryAt: number | null, clock: () => number);
  /** @internal One shared ticket, message and stack line per open period (RejectionFactory). */
  constructor(breaker: string, state: BreakerState, ticket: RetryTicket, message: string, stack: string);
  constructor(
    breaker: string,
    state: BreakerState,
    retry: number | null | RetryTicket,
    clockOrMessage: (() => number) | string,
    stack?: string,
  ) {
    const shared = typeof clockOrMessage === 'string';
    super(shared ? clockOrMessage : rejectionMessage(breaker, state));
    if (stack !== undefined) this.stack = stack;
    (this as { code: string }).code = 'ECIRCUITOPEN';
    (this as { breaker: string }).breaker = breaker;
    (this as { state: BreakerState }).state = state;
    this.#ticket = shared ? (retry as RetryTicket) : { retryAt: retry as number | null, clock: clockOrMessage };
  }

  /**
   * Milliseconds until the breaker lets a trial call through, counting down as time passes;
   * 0 when a trial may run now, null while forced open (only an operator closes it).
   */
  get retryAfterMs(): number | null {
    return msUntilRetry(this.#ticket.retryAt, this.#ticket.clock());
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      breaker: this.breaker,
      state: this.state,
      retryAfterMs: this.retryAfterMs,
    };
  }
}
Object.defineProperty(BreakerOpenError.prototype, 'name', { value: 'BreakerOpenError', writable: true, configurable: true });

/**
 * Builds a breaker's rejections: each one a native Error of its own (callers annotate
 * errors and error trackers mark the ones they reported, so one object shared between
 * calls would leak between requests), built without a stack. What is the same for every
 * rejection of one open period (message, stack line, retry time, clock) is made once per
 * period and shared.
 */
export class RejectionFactory {
  private ticket: RetryTicket | null = null;
  private ticketState: BreakerState | null = null;
  private message = '';
  private stack = '';

  constructor(
    private readonly breaker: string,
    private readonly clock: () => number,
  ) {}

  make(state: BreakerState, retryAt: number | null): BreakerOpenError {
    let ticket = this.ticket;
    if (ticket === null || state !== this.ticketState || retryAt !== ticket.retryAt) {
      ticket = this.ticket = { retryAt, clock: this.clock };
      this.ticketState = state;
      this.message = rejectionMessage(this.breaker, state);
      this.stack = stackOf('BreakerOpenError', this.message, REJECTION_STACK_NOTE);
    }
    // Inlined withoutStack(): this is the rejection hot path, no closure per call.
    const limit = Error.stackTraceLimit;
    (Error as { stackTraceLimit: unknown }).stackTraceLimit = undefined;
    try {
      return new BreakerOpenError(this.breaker, state, ticket, this.message, this.stack);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

/** The guarded call did not settle within `callTimeoutMs`. */
export class BreakerTimeoutError extends Error {
  declare readonly code: 'ECIRCUITTIMEOUT';
  declare readonly breaker: string;
  declare readonly timeoutMs: number;

  constructor(breaker: string, timeoutMs: number) {
    super(`Circuit breaker "${breaker}": call did not settle within ${timeoutMs} ms (ECIRCUITTIMEOUT)`);
    (this as { code: string }).code = 'ECIRCUITTIMEOUT';
    (this as { breaker: string }).breaker = breaker;
    (this as { timeoutMs: number }).timeoutMs = timeoutMs;
  }

  /** A timeout fires from a timer: its stack would show only timer internals, so none is captured. */
  static create(breaker: string, timeoutMs: number): BreakerTimeoutError {
    const err = withoutStack(() => new BreakerTimeoutError(breaker, timeoutMs));
    err.stack = stackOf('BreakerTimeoutError', err.message, 'raised by breakerbox when callTimeoutMs passed; no stack is captured');
    return err;
  }
}
Object.defineProperty(BreakerTimeoutError.prototype, 'name', { value: 'BreakerTimeoutError', writable: true, configurable: true });

/** Programmatic misuse (bad options, bad arguments). */
export class BreakerOptionsError extends TypeError {
  readonly code = 'EBREAKEROPTIONS' as const;
}
Object.defineProperty(BreakerOptionsError.prototype, 'name', { value: 'BreakerOptionsError' });

function limitMessage(breaker: string, limit: number, inflight: number): string {
  return `Circuit breaker "${breaker}": concurrency limit ${limit} reached with ${inflight} calls in flight: call refused without reaching the dependency (ECONCURRENCYLIMIT)`;
}

/** Thrown (or passed to the callback) when a breaker's concurrency limit refuses a call. */
export class ConcurrencyLimitError extends Error {
  declare readonly code: 'ECONCURRENCYLIMIT';
  /** Name of the breaker that refused the call. */
  declare readonly breaker: string;
  /** The limit in force when it refused. */
  declare readonly limit: number;
  /** Guarded calls in flight when it refused. */
  declare readonly inflight: number;

  constructor(breaker: string, limit: number, inflight: number, message?: string, stack?: string) {
    super(message ?? limitMessage(breaker, limit, inflight));
    if (stack !== undefined) this.stack = stack;
    (this as { code: string }).code = 'ECONCURRENCYLIMIT';
    (this as { breaker: string }).breaker = breaker;
    (this as { limit: number }).limit = limit;
    (this as { inflight: number }).inflight = inflight;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, breaker: this.breaker, limit: this.limit, inflight: this.inflight };
  }
}
Object.defineProperty(ConcurrencyLimitError.prototype, 'name', { value: 'ConcurrencyLimitError', writable: true, configurable: true });

/**
 * Builds a breaker's concurrency refusals the way RejectionFactory builds rejections: a new
 * native Error each, no stack captured, the message and stack line shared while the limit
 * and the in-flight count stay the same (under a steady overload, they do).
 */
export class LimitRefusalFactory {
  private limit = -1;
  private inflight = -1;
  private message = '';
  private stack = '';

  constructor(private readonly breaker: string) {}

  make(limit: number, inflight: number): ConcurrencyLimitError {
    if (limit !== this.limit || inflight !== this.inflight) {
      this.limit = limit;
      this.inflight = inflight;
      this.message = limitMessage(this.breaker, limit, inflight);
      this.stack = stackOf('ConcurrencyLimitError', this.message, 'refused by breakerbox; no stack is captured for refusals');
    }
    const saved = Error.stackTraceLimit;
    (Error as { stackTraceLimit: unknown }).stackTraceLimit = undefined;
    try {
      return new ConcurrencyLimitError(this.breaker, limit, inflight, this.message, this.stack);
    } finally {
      Error.stackTraceLimit = saved;
    }
  }
}

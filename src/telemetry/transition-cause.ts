import type { StateChangeEvent } from '../core/events';

/** What an operator may see of the error that caused a transition. */
export interface TransitionCause {
  /** `err.code`: an errno (ECONNREFUSED), a SQLSTATE (57P01), a NATS code (TIMEOUT). */
  readonly errorCode?: string;
  /** The error's class (DatabaseError, NatsError, Error). */
  readonly errorClass?: string;
  /** host:port(/database), server, URL origin or path root the failing call went to. */
  readonly target?: string;
}

/** Codes and class names are short identifiers; anything else could be message text. */
const IDENTIFIER = /^[A-Za-z0-9_.:-]{1,64}$/;

function identifier(v: unknown): string | undefined {
  const s = typeof v === 'number' ? String(v) : v;
  return typeof s === 'string' && IDENTIFIER.test(s) ? s : undefined;
}

/**
 * The code, class and target of the error behind a transition, never its message: pg
 * messages can quote SQL, nats and ws ones payloads or URLs with credentials. The target
 * comes from a per-target child's name (`database@host:5432/db`), else from the address a
 * socket error carries (`127.0.0.1:5432`).
 */
export function transitionCause(e: StateChangeEvent): TransitionCause {
  const at = e.breaker.indexOf('@');
  const fromName = at < 0 ? undefined : e.breaker.slice(at + 1);
  const err = e.error;
  if (err === null || typeof err !== 'object') return fromName === undefined ? {} : { target: fromName };
  const fields = err as { code?: unknown; address?: unknown; port?: unknown; constructor?: { name?: unknown } };
  const address = identifier(fields.address);
  const port = identifier(fields.port);
  const fromSocket = address === undefined ? undefined : port === undefined ? address : `${address}:${port}`;
  const errorClass = identifier(fields.constructor?.name);
  const errorCode = identifier(fields.code);
  const target = fromName ?? fromSocket;
  return {
    ...(errorCode === undefined ? {} : { errorCode }),
    ...(errorClass === undefined ? {} : { errorClass }),
    ...(target === undefined ? {} : { target }),
  };
}

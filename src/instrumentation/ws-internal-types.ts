import type { AnyFunction } from '../core/callable';
import type { OperationIndex, Permit } from '../core/internal';
import type { ManagedBreaker } from '../registry';

/** The ws internals the patcher reads; the same in ws 7 and 8. */
export interface WsSocket {
  readonly _isServer?: boolean;
  readonly _req?: object | null;
  readonly _url?: string;
  readonly _socket?: { readonly localPort?: number } | null;
  readonly readyState: number;
  readonly bufferedAmount: number;
}

export interface Emitter {
  emit(this: unknown, event: string | symbol, ...args: unknown[]): boolean;
}

/** One handshake let through: settled once, by 'open', 'error', 'unexpected-response' or a redirect. */
export interface ConnectAttempt {
  readonly entry: ManagedBreaker;
  readonly token: Permit;
  readonly start: number;
  readonly op: OperationIndex;
  readonly origin: string;
  req: object | null;
  settled: boolean;
  /** The request's own `emit` while we watch it for the error that fails the connect (ws < 8.13). */
  reqShim: AnyFunction | null;
  reqOwnEmit: PropertyDescriptor | undefined;
}

/** A watched request's 'error' or 'response' being delivered to ws right now. */
export interface Delivering {
  readonly attempt: ConnectAttempt;
  readonly event: 'error' | 'response';
  /** The error, or the response. */
  readonly arg: unknown;
}

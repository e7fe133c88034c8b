import type { ResultHooks } from '../core/result-hooks';

function ignore(): void {}

/**
 * A nats `connect()` that completed after its caller got ECIRCUITTIMEOUT: nobody holds the
 * connection, which would otherwise live on (reconnecting, keeping the process alive).
 */
export const CONNECT_HOOKS: ResultHooks = {
  disposeLate(nc: unknown): void {
    const closing = (nc as { close?: () => Promise<void> } | null)?.close?.();
    if (closing !== undefined && typeof closing.then === 'function') closing.then(undefined, ignore);
  },
};

import type { CircuitBreaker } from '../core/circuit-breaker';
import type { BreakerRegistry } from './registry';

export const ADMIN_ACTIONS = ['open', 'close', 'reset', 'disable', 'enable'] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

export interface AdminOutcome {
  found: boolean;
  from?: string;
  state?: string;
  /** How many per-target children the action reached as well. */
  targets?: number;
}

/**
 * An operator's action on a named breaker. On a per-target parent it reaches every child
 * too: forcing `websocket` open is meant for every origin it guards.
 */
export function applyAdmin(registry: BreakerRegistry, name: string, action: AdminAction): AdminOutcome {
  const entry = registry.list().find((e) => e.breaker.name === name);
  if (!entry) return { found: false };
  const children = registry.childrenOf(name);
  const from = entry.breaker.state;
  for (const b of [entry.breaker, ...children.map((c) => c.breaker)]) act(b, action);
  return { found: true, from, state: entry.breaker.state, ...(children.length > 0 ? { targets: children.length } : {}) };
}

function act(b: CircuitBreaker, action: AdminAction): void {
  switch (action) {
    case 'open':
      return b.forceOpen();
    case 'close':
      return b.close();
    case 'reset':
      return b.reset();
    case 'disable':
      return b.disable();
    case 'enable':
      return b.enable();
  }
}

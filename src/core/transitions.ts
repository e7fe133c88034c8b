import type { BreakerState } from './types';

/**
 * Every state change a breaker may make, from -> to; nothing else moves a breaker.
 * Calls drive closed -> open -> half_open -> closed (or back to open); an operator may send
 * any state to closed, forced_open or disabled. A state never "changes" to itself: that is
 * a no-op, not a transition. Restoring a snapshot is a transition out of closed, the state
 * every breaker is born in.
 */
export const LEGAL_TRANSITIONS: Readonly<Record<BreakerState, readonly BreakerState[]>> = {
  closed: ['open', 'forced_open', 'disabled'],
  open: ['half_open', 'closed', 'forced_open', 'disabled'],
  half_open: ['open', 'closed', 'forced_open', 'disabled'],
  forced_open: ['closed', 'disabled'],
  disabled: ['closed', 'forced_open'],
};

export function isLegalTransition(from: BreakerState, to: BreakerState): boolean {
  return LEGAL_TRANSITIONS[from].includes(to);
}

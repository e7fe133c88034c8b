export { CircuitBreaker } from './circuit-breaker';
export { BreakerOpenError, BreakerTimeoutError, BreakerOptionsError } from './errors';
export type { StateChangeEvent, CallEvent, BreakerEvents, BreakerEventName } from './events';
export { OUTCOMES, type CallRecorder } from './recorder';
export type { BreakerState, BreakerMode, Outcome, TransitionReason, CircuitBreakerOptions, BreakerSnapshot, ErrorVerdict } from './types';
export type { ResultHooks } from './result-hooks';

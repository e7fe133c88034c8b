export { CircuitBreaker } from './circuit-breaker';
export { BreakerOpenError, BreakerTimeoutError, BreakerOptionsError, ConcurrencyLimitError } from './errors';
export type { ConcurrencyInput } from './concurrency-options';
export type { LimitAlgorithm, AdaptiveAlgorithmName } from './limit/limit-algorithm';
export type { StateChangeEvent, CallEvent, BreakerEvents, BreakerEventName } from './events';
export { OUTCOMES, type CallRecorder } from './recorder';
export type { BreakerState, BreakerMode, Outcome, TransitionReason, CircuitBreakerOptions, BreakerSnapshot, ErrorVerdict } from './types';
export type { ResultHooks } from './result-hooks';

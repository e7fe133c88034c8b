import type { BreakerState, Outcome, TransitionReason } from './types';

export interface StateChangeEvent {
  breaker: string;
  from: BreakerState;
  to: BreakerState;
  reason: TransitionReason;
  /** Clock time of the transition. */
  at: number;
  consecutiveFailures: number;
  /** Failure rate over the rolling window, 0..1 (0 when no rate policy is configured). */
  failureRate: number;
  /** Set when a breaker is closed again after an outage: ms since it first opened. */
  recoveryMs: number | null;
  /**
   * The error of the call that caused the transition (a failure that opened it, a failed
   * trial), as the guarded call threw it; undefined for every other transition.
   */
  error: unknown;
}

export interface CallEvent {
  breaker: string;
  outcome: Outcome;
  durationMs: number;
  error: unknown;
}

export interface BreakerEvents {
  stateChange: (e: StateChangeEvent) => void;
  success: (e: CallEvent) => void;
  failure: (e: CallEvent) => void;
  timeout: (e: CallEvent) => void;
  ignored: (e: CallEvent) => void;
  rejected: (e: CallEvent) => void;
  /** A call the concurrency limit refused (outcome `limited`). */
  limited: (e: CallEvent) => void;
  fallback: (e: { breaker: string; ok: boolean; error: unknown }) => void;
}

export type BreakerEventName = keyof BreakerEvents;

/**
 * A deliberately tiny emitter: the breaker checks `has(name)` before building an event
 * object, so an event nobody listens to costs one property read. Listener errors are
 * reported asynchronously instead of breaking the guarded call.
 */
export class BreakerEmitter {
  private listeners: { [K in BreakerEventName]?: BreakerEvents[K][] } = {};

  on<K extends BreakerEventName>(name: K, fn: BreakerEvents[K]): void {
    const list = (this.listeners[name] ??= []) as BreakerEvents[K][];
    list.push(fn);
  }

  off<K extends BreakerEventName>(name: K, fn: BreakerEvents[K]): void {
    const list = this.listeners[name] as BreakerEvents[K][] | undefined;
    if (!list) return;
    const i = list.indexOf(fn);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) delete this.listeners[name];
  }

  has(name: BreakerEventName): boolean {
    return this.listeners[name] !== undefined;
  }

  emit<K extends BreakerEventName>(name: K, event: Parameters<BreakerEvents[K]>[0]): void {
    const list = this.listeners[name] as ((e: unknown) => void)[] | undefined;
    if (!list) return;
    for (const fn of list.slice()) {
      try {
        fn(event);
      } catch (err) {
        // A broken listener must not change the outcome of the user's call.
        process.nextTick(() => {
          process.emitWarning(`breakerbox: a "${name}" listener threw: ${String(err)}`, 'BreakerboxWarning');
        });
      }
    }
  }
}

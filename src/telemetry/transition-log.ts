import type { LogLevel } from '../config';
import type { StateChangeEvent } from '../core/events';
import { transitionCause } from './transition-cause';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Opening is what an operator must notice; everything else is routine. */
function levelOf(e: StateChangeEvent): Exclude<LogLevel, 'silent'> {
  return e.to === 'open' || e.to === 'forced_open' ? 'warn' : 'info';
}

/**
 * One JSON line per transition on stderr (stdout may be the app's own protocol), so log
 * pipelines can alert on it without parsing prose.
 */
export function makeTransitionLogger(
  threshold: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l),
): (e: StateChangeEvent) => void {
  return (e) => {
    const level = levelOf(e);
    if (RANK[level] < RANK[threshold]) return;
    const cause = transitionCause(e);
    write(
      JSON.stringify({
        time: new Date(e.at).toISOString(),
        level,
        logger: 'breakerbox',
        msg: `circuit breaker ${e.breaker} ${e.from} -> ${e.to}`,
        breaker: e.breaker,
        from: e.from,
        to: e.to,
        reason: e.reason,
        consecutive_failures: e.consecutiveFailures,
        failure_rate: e.failureRate,
        // Millisecond precision is what the clock means; more digits are float noise.
        recovery_seconds: e.recoveryMs === null ? undefined : Math.round(e.recoveryMs) / 1000,
        error_code: cause.errorCode,
        error_class: cause.errorClass,
        target: cause.target,
      }) + '\n',
    );
  };
}

/** A one-off structured line (startup, warnings) in the same format as transitions. */
export function logLine(
  threshold: LogLevel,
  level: Exclude<LogLevel, 'silent'>,
  msg: string,
  extra: Record<string, unknown> = {},
  write: (line: string) => void = (l) => process.stderr.write(l),
): void {
  if (RANK[level] < RANK[threshold]) return;
  write(JSON.stringify({ time: new Date().toISOString(), level, logger: 'breakerbox', msg, ...extra }) + '\n');
}

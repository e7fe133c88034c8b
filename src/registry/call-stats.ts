import { OUTCOMES, type CallRecorder } from '../core/recorder';
import { TransitionCounts } from './transition-counts';
import type { OperationIndex } from '../core/internal';

/** Call-duration bucket bounds in seconds: 0.5 ms .. 30 s (plus +Inf). */
export const DURATION_BUCKETS_S: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Recovery (first open → closed) bucket bounds in seconds: 1 s .. 1 h. */
export const RECOVERY_BUCKETS_S: readonly number[] = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

const N_OUTCOMES = OUTCOMES.length;
const N_BUCKETS = DURATION_BUCKETS_S.length + 1;
const BOUNDS_MS = DURATION_BUCKETS_S.map((s) => s * 1000);

/** One operation's cells: counts, sums and buckets per outcome, in flat typed arrays. */
export class OperationStats {
  readonly counts = new Float64Array(N_OUTCOMES);
  readonly sumsS = new Float64Array(N_OUTCOMES);
  /** Non-cumulative bucket counts: [outcome * N_BUCKETS + bucket]. */
  readonly buckets = new Float64Array(N_OUTCOMES * N_BUCKETS);

  constructor(readonly name: string) {}
}

/**
 * The per-breaker counters that telemetry reads at collection time. Recording is a few
 * array writes: no attribute sets are built or hashed per call.
 */
export class CallStats implements CallRecorder {
  readonly operations: OperationStats[] = [];
  fallbackSuccesses = 0;
  fallbackFailures = 0;
  readonly recoveryBuckets = new Float64Array(RECOVERY_BUCKETS_S.length + 1);
  recoveryCount = 0;
  recoverySumS = 0;
  /** Transitions by (from, to), recorded by the registry from the breaker's stateChange events. */
  readonly transitions = new TransitionCounts();

  constructor(defaultOperation: string) {
    this.operations.push(new OperationStats(defaultOperation));
  }

  /** @internal Index of an operation name, created on first use. Callers resolve it once, not per call. */
  operationIndex(name: string): OperationIndex {
    const ops = this.operations;
    for (let i = 0; i < ops.length; i++) if (ops[i].name === name) return i as OperationIndex;
    ops.push(new OperationStats(name));
    return (ops.length - 1) as OperationIndex;
  }

  record(operation: number, outcome: number, durationMs: number): void {
    const op = this.operations[operation] ?? this.operations[0];
    op.counts[outcome]++;
    op.sumsS[outcome] += durationMs / 1000;
    let b = 0;
    while (b < BOUNDS_MS.length && durationMs > BOUNDS_MS[b]) b++;
    op.buckets[outcome * N_BUCKETS + b]++;
  }

  recordFallback(ok: boolean): void {
    if (ok) this.fallbackSuccesses++;
    else this.fallbackFailures++;
  }

  recordRecovery(ms: number): void {
    const s = ms / 1000;
    let b = 0;
    while (b < RECOVERY_BUCKETS_S.length && s > RECOVERY_BUCKETS_S[b]) b++;
    this.recoveryBuckets[b]++;
    this.recoveryCount++;
    this.recoverySumS += s;
  }

  /** Calls per outcome over every operation. */
  totals(): Record<string, number> {
    const out: Record<string, number> = {};
    OUTCOMES.forEach((o, i) => {
      out[o] = this.operations.reduce((sum, op) => sum + op.counts[i], 0);
    });
    return out;
  }

  /**
   * Latency quantile (seconds) of calls that reached the dependency (not rejections),
   * interpolated inside the bucket like Prometheus's histogram_quantile; null without data.
   */
  quantile(q: number): number | null {
    const merged = new Float64Array(N_BUCKETS);
    let total = 0;
    for (const op of this.operations) {
      OUTCOMES.forEach((o, i) => {
        if (o === 'rejected' || o === 'limited') return;
        for (let b = 0; b < N_BUCKETS; b++) merged[b] += op.buckets[i * N_BUCKETS + b];
      });
    }
    for (let b = 0; b < N_BUCKETS; b++) total += merged[b];
    if (total === 0) return null;
    const rank = q * total;
    let seen = 0;
    for (let b = 0; b < N_BUCKETS; b++) {
      if (seen + merged[b] >= rank && merged[b] > 0) {
        const lower = b === 0 ? 0 : DURATION_BUCKETS_S[b - 1];
        if (b === N_BUCKETS - 1) return lower;
        const upper = DURATION_BUCKETS_S[b];
        return lower + (upper - lower) * ((rank - seen) / merged[b]);
      }
      seen += merged[b];
    }
    return DURATION_BUCKETS_S[DURATION_BUCKETS_S.length - 1];
  }
}

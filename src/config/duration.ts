/** Said in every duration problem, so the accepted forms are always one glance away. */
export const DURATION_EXPECTED = 'seconds as a number or a string like "500ms", "30s", "2m"';

/**
 * Node clamps longer timer delays to 1 ms (with a warning), so a longer call or trial
 * timeout would fire at once instead of never: refuse it here.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)$/;

export type DurationResult = { ok: true; ms: number } | { ok: false; expected: string };

/**
 * A config duration in ms: a bare number is seconds (YAML users write `timeout: 30`),
 * a string carries its unit. Must be > 0 and fit a timer.
 */
export function parseDuration(value: unknown): DurationResult {
  let ms: number;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, expected: DURATION_EXPECTED };
    ms = value * 1000;
  } else if (typeof value === 'string') {
    const m = DURATION_RE.exec(value.trim());
    if (!m) return { ok: false, expected: DURATION_EXPECTED };
    ms = Number(m[1]) * UNIT_MS[m[2]];
  } else {
    return { ok: false, expected: DURATION_EXPECTED };
  }
  // Float noise (1.1 * 1000 = 1100.0000000000002) would leak into logs; µs is plenty.
  ms = Math.round(ms * 1000) / 1000;
  if (ms <= 0) return { ok: false, expected: `a duration greater than 0 (${DURATION_EXPECTED})` };
  if (ms > MAX_DURATION_MS) {
    return { ok: false, expected: `a duration of at most ${MAX_DURATION_MS} ms (about 24.8 days)` };
  }
  return { ok: true, ms };
}

/**
 * The few semver ranges the patchers declare ('*', '>=8.0.0 <9', alternatives joined by
 * '||'), checked without a semver library on the preload path. A form outside that set
 * throws when the range is read, so a patcher cannot silently declare a range that is
 * checked differently here than by InstrumentationBase.
 */

type Triple = [number, number, number];
type Comparator = (v: Triple) => boolean;

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;
// A bound's missing parts are zeros, which only reads as semver does for `<` and `>=`.
const BOUND = /^(>=|<)(\d+)(?:\.(\d+))?(?:\.(\d+))?$|^(>|<=|=)?(\d+)\.(\d+)\.(\d+)$/;

const cache = new Map<string, Comparator[][]>();

/** Whether a package version satisfies one of the ranges; prereleases never do (as semver without includePrerelease). */
export function satisfiesAny(version: string | undefined, ranges: readonly string[]): boolean {
  // As InstrumentationBase: a package without a readable version is taken only by '*'.
  if (version === undefined) return ranges.includes('*');
  const m = VERSION.exec(version.trim());
  if (!m || m[4] !== undefined) return false;
  const v: Triple = [Number(m[1]), Number(m[2]), Number(m[3])];
  return ranges.some((range) => parseRange(range).some((set) => set.every((c) => c(v))));
}

/** Parses a range, throwing on a form this check does not read; cached per range text. */
export function parseRange(range: string): Comparator[][] {
  let parsed = cache.get(range);
  if (!parsed) {
    parsed = range.split('||').map((alt) => {
      const parts = alt.trim().split(/\s+/);
      if (parts.length === 1 && (parts[0] === '*' || parts[0] === '')) return [];
      return parts.map((p) => comparator(p, range));
    });
    cache.set(range, parsed);
  }
  return parsed;
}

function comparator(text: string, range: string): Comparator {
  const m = BOUND.exec(text);
  if (!m)
    throw new Error(
      `version range "${range}": "${text}" is not a form breakerbox reads (expected *, >=X[.Y[.Z]], <X[.Y[.Z]] or >, <=, = X.Y.Z)`,
    );
  const op = m[1] ?? m[5] ?? '=';
  const bound: Triple = m[1] ? [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)] : [Number(m[6]), Number(m[7]), Number(m[8])];
  return (v) => {
    const c = compare(v, bound);
    return op === '>=' ? c >= 0 : op === '<' ? c < 0 : op === '>' ? c > 0 : op === '<=' ? c <= 0 : c === 0;
  };
}

function compare(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

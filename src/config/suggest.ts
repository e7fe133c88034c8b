/**
 * Edit distance with adjacent transpositions counted as one edit (optimal string
 * alignment), because swapped letters are the commonest typo in hand-written keys.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rolling rows suffice: the transposition step looks two rows back.
  let prevPrev: number[] = new Array<number>(b.length + 1).fill(0);
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur: number[] = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, prevPrev[j - 2] + 1);
      }
      cur[j] = d;
    }
    [prevPrev, prev, cur] = [prev, cur, prevPrev];
  }
  return prev[b.length];
}

/** Case, `_` and `-` differences are style, not typos: `failureThreshold` is `failure_threshold`. */
function normalise(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '');
}

/**
 * The candidate the user most likely meant, or undefined when nothing is close enough to be
 * a helpful guess. `aliases` maps other spellings (e.g. core option names) to candidates.
 * `prefixes: false` drops the shortened/lengthened-word rule, for names (`database_replica`)
 * where a longer word is usually a different thing, not a typo.
 */
export function didYouMean(
  input: string,
  candidates: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
  { prefixes = true }: { prefixes?: boolean } = {},
): string | undefined {
  const key = normalise(input);
  for (const [alias, target] of Object.entries(aliases)) {
    if (normalise(alias) === key) return target;
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(key, normalise(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  // Allow about one edit per four letters (min 1, max 3): close enough to be a typo,
  // far enough that short keys do not all "resemble" each other.
  const allowed = Math.max(1, Math.min(3, Math.floor(key.length / 4)));
  if (bestDistance <= allowed) return best;
  if (!prefixes) return undefined;
  // A shortened or lengthened word (`warning` for `warn`) is far in edit distance but
  // obviously meant; the closest length wins.
  if (key.length < 3) return undefined;
  let prefixed: string | undefined;
  let gap = Infinity;
  for (const candidate of candidates) {
    const n = normalise(candidate);
    if (n.length >= 3 && (n.startsWith(key) || key.startsWith(n)) && Math.abs(n.length - key.length) < gap) {
      prefixed = candidate;
      gap = Math.abs(n.length - key.length);
    }
  }
  return prefixed;
}

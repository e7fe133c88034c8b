/**
 * Which member runs the half-open trial of a breaker the fleet holds open: one at a time, so
 * a recovering dependency sees one trial per reset period instead of one per instance.
 *
 * A deterministic choice from the membership view rather than a JetStream KV lease: it needs
 * no JetStream on the user's NATS and no round trip (the decision stays local and
 * synchronous, as every breaker decision must), and a prober that dies is replaced as soon as
 * it drops out of the view (3 missed heartbeats), which is the lease expiry. The cost: while
 * views disagree (a member joining or leaving), two members may trial at once for a moment.
 *
 * The order:
 * 1. Members with the most traffic first (calls in the last few heartbeats, in coarse steps so
 *    small differences do not move the trial around): a trial runs on a user's call, so a busy
 *    member trials at once when it is due, and an idle one would fail its rare user against a
 *    dead dependency. Only until a member has failed HANDOFF_AFTER trials in this outage: one
 *    busy member whose own path stays broken must not keep the whole fleet open for good.
 * 2. Fewest failed trials, so members with traffic take turns.
 * 3. A hash of (breaker, member), so different breakers spread their trials over different members.
 */
export interface ProbeCandidate {
  readonly id: string;
  /** Trials this member failed in the current outage. */
  readonly failed: number;
  /** Calls it saw on the breaker in the last few heartbeats (refused ones included). Default 0. */
  readonly calls?: number;
}

/** Failed trials after which a member's traffic no longer puts it ahead of members with less. */
export const HANDOFF_AFTER = 8;

/** Coarse traffic steps (0: 0-2 calls, 1: 3-14, 2: 15-62, 3: 63-254...). */
export function trafficStep(calls: number): number {
  return Math.floor(Math.log2(calls + 1) / 2);
}

function rank(c: ProbeCandidate): [number, number, number] {
  const spent = c.failed >= HANDOFF_AFTER;
  return [spent ? c.failed : 0, spent ? 0 : -trafficStep(c.calls ?? 0), c.failed];
}

export function chooseProber(breaker: string, candidates: readonly ProbeCandidate[]): string | null {
  let best: ProbeCandidate | null = null;
  let bestRank: [number, number, number] = [0, 0, 0];
  let bestHash = 0;
  for (const c of candidates) {
    const r = rank(c);
    const h = fnv1a(`${breaker}\u0000${c.id}`);
    const cmp = compare(r, bestRank);
    if (best === null || cmp < 0 || (cmp === 0 && (h < bestHash || (h === bestHash && c.id < best.id)))) {
      best = c;
      bestRank = r;
      bestHash = h;
    }
  }
  return best === null ? null : best.id;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** 32-bit FNV-1a: the same on every member, whatever its runtime. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

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
 * Fewest failed trials first, so a member whose own path stays broken hands the trial on
 * after failing it; then a hash of (breaker, member), so different breakers spread their
 * trials over different members.
 */
export interface ProbeCandidate {
  readonly id: string;
  /** Trials this member failed in the current outage. */
  readonly failed: number;
}

export function chooseProber(breaker: string, candidates: readonly ProbeCandidate[]): string | null {
  let best: ProbeCandidate | null = null;
  let bestHash = 0;
  for (const c of candidates) {
    const h = fnv1a(`${breaker}\u0000${c.id}`);
    if (best === null || c.failed < best.failed || (c.failed === best.failed && (h < bestHash || (h === bestHash && c.id < best.id)))) {
      best = c;
      bestHash = h;
    }
  }
  return best === null ? null : best.id;
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

/**
 * The fleet as one member sees it: who is a member, and who holds which breaker open on its
 * own evidence. Pure (no I/O, no timers): the clock comes in as arguments, so the rules
 * (3 missed heartbeats, quorum) are tested without NATS or waiting.
 */
import type { FleetConfig } from '../config/types';

/**
 * How a member holds a breaker that is not closed: `own` when its own calls or connection
 * opened it, `fleet` when it opened only because the fleet reached quorum. Closed breakers
 * (and operator states) are simply absent from a report.
 */
export type FleetHold = 'own' | 'fleet';

/** Where a member stands with the trial of a breaker it holds open. */
export interface ProbeInfo {
  /** Trials it failed in the current outage. */
  readonly failed: number;
  /** Until its own next trial is due (0: due now, or under way), ms. Relative: clocks differ between hosts. */
  readonly dueInMs: number;
  /** Calls it saw on the breaker in the last few heartbeats, refused ones included (absent from older members: 0). */
  readonly calls?: number;
}

/** What a member says about itself in each heartbeat and announcement. */
export interface MemberReport {
  readonly id: string;
  /** Breaker name → how it is held open. Only the breakers the fleet shares. */
  readonly holds: Readonly<Record<string, FleetHold>>;
  /** For the breakers in `holds`: trial bookkeeping, for choosing one prober. */
  readonly probes?: Readonly<Record<string, ProbeInfo>>;
  /**
   * Shared breakers it holds closed because a trial of its own succeeded (its last transition):
   * evidence the dependency answers, which a member the fleet opened may close on. Absent from older members.
   */
  readonly recovered?: readonly string[];
}

/** A member silent for this many heartbeats has left. */
export const MISSED_HEARTBEATS = 3;

/** Never fewer than this: one member alone must never open the breaker for the others. */
const MIN_QUORUM = 2;

interface Member {
  lastHeard: number;
  holds: Readonly<Record<string, FleetHold>>;
  probes: Readonly<Record<string, ProbeInfo>>;
}

export class FleetView {
  private readonly others = new Map<string, Member>();
  private ownHolds: Readonly<Record<string, FleetHold>> = {};

  constructor(
    readonly selfId: string,
    private readonly heartbeatMs: number,
    private readonly quorum: FleetConfig['quorum'],
  ) {}

  /** This member's own holds (it is always a member of its own view). */
  setOwn(holds: Readonly<Record<string, FleetHold>>): void {
    this.ownHolds = holds;
  }

  /** A heartbeat or announcement from another member: it is (still) a member, with these holds. */
  heard(report: MemberReport, now: number): void {
    if (report.id === this.selfId) return;
    this.others.set(report.id, { lastHeard: now, holds: report.holds, probes: report.probes ?? {} });
  }

  /** A member said goodbye (clean shutdown): it leaves at once rather than after 3 heartbeats. */
  left(id: string): void {
    this.others.delete(id);
  }

  /** Drops members not heard from for more than 3 heartbeats; returns their ids. */
  expire(now: number): string[] {
    const gone: string[] = [];
    for (const [id, m] of this.others) {
      if (now - m.lastHeard > MISSED_HEARTBEATS * this.heartbeatMs) gone.push(id);
    }
    for (const id of gone) this.others.delete(id);
    return gone;
  }

  /** Members, this one included. */
  get memberCount(): number {
    return this.others.size + 1;
  }

  memberIds(): string[] {
    return [this.selfId, ...this.others.keys()];
  }

  /** Members (this one included) holding `breaker` open on their own evidence. */
  ownOpenCount(breaker: string): number {
    let n = this.ownHolds[breaker] === 'own' ? 1 : 0;
    for (const m of this.others.values()) if (m.holds[breaker] === 'own') n++;
    return n;
  }

  /** Other members holding `breaker` open (either way), with their trial bookkeeping. */
  otherHolders(breaker: string): { id: string; probe: ProbeInfo }[] {
    const out: { id: string; probe: ProbeInfo }[] = [];
    for (const [id, m] of this.others) {
      if (m.holds[breaker] !== undefined) out.push({ id, probe: m.probes[breaker] ?? { failed: 0, dueInMs: 0 } });
    }
    return out;
  }

  /** Since when member `id` (another one) was last heard from, ms; null for a non-member. */
  silentFor(id: string, now: number): number | null {
    const m = this.others.get(id);
    return m === undefined ? null : now - m.lastHeard;
  }

  /** Whether member `id` (another one) currently holds `breaker` open. */
  holds(id: string, breaker: string): boolean {
    return this.others.get(id)?.holds[breaker] !== undefined;
  }

  /** Members needed: the configured count, or the percentage of the current members; at least 2. */
  get quorumSize(): number {
    const wanted = this.quorum.count ?? Math.ceil((this.memberCount * this.quorum.percent) / 100 - 1e-9);
    return Math.max(MIN_QUORUM, wanted);
  }

  /** Whether enough members hold `breaker` open on their own evidence for the others to open it. */
  quorumReached(breaker: string): boolean {
    return this.ownOpenCount(breaker) >= this.quorumSize;
  }
}

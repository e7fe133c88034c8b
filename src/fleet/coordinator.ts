/**
 * Ties this member's breakers to the fleet: what it reports (which shared breakers it holds
 * open, on its own evidence or the fleet's), and what it does with what the others report
 * (quorum reached → open a closed breaker with reason `fleet`).
 *
 * Rules (DESIGN.md section 5):
 * - Local first: the breakers keep deciding on their own evidence, synchronously; this only
 *   ever adds a transition, from a NATS callback or a timer, never inside a guarded call.
 * - A breaker opened by the fleet is reported as `fleet` until it closes again, so it never
 *   counts toward quorum (not even after failing a trial of its own: what opened it was the
 *   fleet, and counting it would let one member's outage feed on itself).
 * - The fleet opens a breaker when quorum is *reached* (the view goes from no to yes), not
 *   whenever it holds: a member whose own trial succeeded during a fleet-wide outage has
 *   evidence that its path works, and its own evidence wins.
 * - One trial for the fleet (prober.ts says who, preferring members with traffic): while this
 *   member holds a breaker open and another member is the prober, its own trial is postponed
 *   to the prober's next trial (plus a heartbeat for the news to arrive), so `retryAfterMs`
 *   counts to the fleet's trial. When the prober closes on a successful trial, each other member
 *   acts after a small random delay (no herd, and well inside `timeout` + 2 s): one the fleet
 *   opened, with no failed trial of its own, closes at once (it has no evidence of its own
 *   against the dependency, so it returns to where it was before the outage, and its own calls
 *   judge its own path from there; an idle member would otherwise wait for its next user to
 *   close); every other member, and every member when the prober closed some other way (an
 *   operator), goes half-open and closes on its own trial, since its own path may be what is
 *   broken. When the prober fails, the next prober takes the next trial.
 * - A prober that stays due without a result is waiting for a call. Members with no more
 *   traffic than it keep waiting while it is in the view (their own trial would only spend a
 *   rare user on a dead dependency); a member with traffic, waiting on a prober with none (views
 *   that disagree), stops waiting after 2 heartbeats and trials on its own.
 */
import type { CircuitBreaker } from '../core/circuit-breaker';
import type { StateChangeEvent } from '../core/events';
import type { BreakerState } from '../core/types';
import type { FleetConfig } from '../config/types';
import { chooseProber, trafficStep } from './prober';
import { TrafficWindow } from './traffic';
import { FleetView, MISSED_HEARTBEATS, type FleetHold, type MemberReport, type ProbeInfo } from './view';

export interface FleetCoordinatorOptions {
  readonly selfId: string;
  readonly config: Pick<FleetConfig, 'quorum' | 'heartbeatMs'>;
  /** Shared breakers that exist already, by name; later ones come through `attach`. */
  readonly breakers?: ReadonlyMap<string, CircuitBreaker>;
  /** Fire and forget: publishes this member's report (or drops it when NATS is away). */
  readonly send: (report: MemberReport) => void;
  /** Clock in ms (the breakers' own clock, in production). */
  readonly now: () => number;
  /** Deferral for announcements, so a transition inside a guarded call does no I/O there. Default setImmediate. */
  readonly defer?: (fn: () => void) => void;
  /** Runs `fn` after `ms` (the jittered half-open after the prober closed). Default an unref'd setTimeout. */
  readonly later?: (fn: () => void, ms: number) => void;
  /** 0 ≤ x < 1, for the jitter. Default Math.random. */
  readonly random?: () => number;
}

/** The half-open after the prober closed comes at most this late (less with a faster heartbeat). */
const MAX_JITTER_MS = 250;

function laterUnref(fn: () => void, ms: number): void {
  setTimeout(fn, ms).unref();
}

export class FleetCoordinator {
  readonly view: FleetView;
  private readonly openedByFleet = new Set<string>();
  private readonly reached = new Set<string>();
  private readonly listeners = new Map<string, (e: StateChangeEvent) => void>();
  private readonly counters = new Map<string, () => void>();
  private readonly traffic = new Map<string, TrafficWindow>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private announcePending = false;
  private stopped = false;
  /** Trials this member failed in the current outage, per breaker. */
  private readonly failedTrials = new Map<string, number>();
  /** Breaker → the other member whose trial this one waits on. */
  private readonly prober = new Map<string, string>();
  /** Breaker → breaker-clock time this member first saw its prober due with no result yet. */
  private readonly proberDueSince = new Map<string, number>();
  /** `breaker\0member` → failed trials last seen in that member's reports. */
  private readonly seenFailed = new Map<string, number>();

  constructor(private readonly o: FleetCoordinatorOptions) {
    this.view = new FleetView(o.selfId, o.config.heartbeatMs, o.config.quorum);
  }

  /** Starts listening to the shared breakers' transitions. */
  start(): void {
    for (const [name, breaker] of this.o.breakers ?? []) this.attach(name, breaker);
    this.view.setOwn(this.holds());
  }

  /**
   * Shares one more breaker (a manual breaker the app builds after startup). A replaced
   * breaker of the same name (registry cleared) is let go first.
   */
  attach(name: string, breaker: CircuitBreaker): void {
    if (this.stopped || this.breakers.get(name) === breaker) return;
    this.detach(name);
    const listener = (e: StateChangeEvent): void => this.onLocalTransition(name, e);
    this.listeners.set(name, listener);
    this.breakers.set(name, breaker);
    breaker.on('stateChange', listener);
    // Refusals, failures and timeouts: the calls of an outage. Successes are left out: counting
    // them would cost the closed breaker's every call, and while open only a trial succeeds.
    const window = new TrafficWindow();
    const count = (): void => window.add();
    this.traffic.set(name, window);
    this.counters.set(name, count);
    breaker.on('rejected', count).on('failure', count).on('timeout', count);
    this.view.setOwn(this.holds());
    // Quorum may already be reached for it.
    this.reached.delete(name);
    this.evaluate();
  }

  stop(): void {
    this.stopped = true;
    for (const name of [...this.breakers.keys()]) this.detach(name);
  }

  private detach(name: string): void {
    const listener = this.listeners.get(name);
    if (listener !== undefined) this.breakers.get(name)?.off('stateChange', listener);
    const count = this.counters.get(name);
    if (count !== undefined) this.breakers.get(name)?.off('rejected', count).off('failure', count).off('timeout', count);
    this.listeners.delete(name);
    this.counters.delete(name);
    this.traffic.delete(name);
    this.breakers.delete(name);
    this.openedByFleet.delete(name);
  }

  /** Every heartbeat: forget silent members, act on the view, say where this member stands. */
  tick(): void {
    this.view.expire(this.o.now());
    this.evaluate();
    this.o.send(this.report());
    for (const window of this.traffic.values()) window.rotate();
  }

  /** A report from another member (heartbeat or announcement). */
  receive(report: MemberReport): void {
    this.view.heard(report, this.o.now());
    this.followProbers(report);
    this.evaluate();
  }

  /** Another member left cleanly. */
  leave(id: string): void {
    this.view.left(id);
    this.evaluate();
  }

  report(): MemberReport {
    const holds = this.holds();
    const probes: Record<string, ProbeInfo> = {};
    for (const name of Object.keys(holds)) {
      const breaker = this.breakers.get(name)!;
      const retryAt = breaker.retryAt;
      probes[name] = {
        failed: this.failedTrials.get(name) ?? 0,
        dueInMs: retryAt === null ? 0 : Math.max(0, Math.round(retryAt - breaker.now())),
        calls: this.callsOf(name),
      };
    }
    const recovered: string[] = [];
    for (const [name, breaker] of this.breakers) {
      if (breaker.state === 'closed' && breaker.lastTransition?.reason === 'trial_succeeded') recovered.push(name);
    }
    return { id: this.o.selfId, holds, probes, recovered };
  }

  /** What operators see of a shared breaker (health JSON); null for one the fleet does not share. */
  status(name: string): { openMembers: number; quorum: number; prober: string | null } | null {
    if (!this.breakers.has(name)) return null;
    return { openMembers: this.view.ownOpenCount(name), quorum: this.view.quorumSize, prober: this.proberOf(name) };
  }

  /** Who runs the next trial of `name`: chosen among the members holding it open; null when none does. */
  private proberOf(name: string): string | null {
    const breaker = this.breakers.get(name);
    const own = breaker !== undefined && (breaker.state === 'open' || breaker.state === 'half_open');
    return chooseProber(name, [
      ...(own ? [{ id: this.o.selfId, failed: this.failedTrials.get(name) ?? 0, calls: this.callsOf(name) }] : []),
      ...this.view.otherHolders(name).map((o) => ({ id: o.id, failed: o.probe.failed, calls: o.probe.calls })),
    ]);
  }

  private callsOf(name: string): number {
    return this.traffic.get(name)?.calls ?? 0;
  }

  /** Whether `name` is currently held open here because of the fleet. */
  isFleetOpened(name: string): boolean {
    return this.openedByFleet.has(name);
  }

  private holds(): Record<string, FleetHold> {
    const holds: Record<string, FleetHold> = {};
    for (const [name, breaker] of this.breakers) {
      const state = breaker.state;
      if (state !== 'open' && state !== 'half_open') continue;
      holds[name] = this.openedByFleet.has(name) ? 'fleet' : 'own';
    }
    return holds;
  }

  private onLocalTransition(name: string, e: StateChangeEvent): void {
    if (e.from === 'half_open' && e.to === 'open') this.failedTrials.set(name, (this.failedTrials.get(name) ?? 0) + 1);
    if (e.to !== 'open' && e.to !== 'half_open') {
      this.openedByFleet.delete(name);
      this.failedTrials.delete(name);
      this.prober.delete(name);
      this.proberDueSince.delete(name);
      for (const key of [...this.seenFailed.keys()]) if (key.startsWith(`${name}\u0000`)) this.seenFailed.delete(key);
    }
    this.view.setOwn(this.holds());
    this.announceSoon();
  }

  /** Opens, with reason `fleet`, each closed breaker whose quorum has just been reached. */
  private evaluate(): void {
    for (const [name, breaker] of this.breakers) {
      const now = this.view.quorumReached(name);
      const before = this.reached.has(name);
      if (now === before) continue;
      if (!now) {
        this.reached.delete(name);
        continue;
      }
      this.reached.add(name);
      if (breaker.state !== 'closed') continue;
      // Marked first: the transition's own listener reports it, and must report it as `fleet`.
      this.openedByFleet.add(name);
      breaker.actOnEvidence(false, 'fleet');
      // Re-read: the getter changed under the narrowing above.
      if ((breaker.state as BreakerState) !== 'open') this.openedByFleet.delete(name);
    }
    this.coordinateTrials();
  }

  /** The prober this member waits on reports the breaker closed (on a successful trial, or by an operator). */
  private followProbers(report: MemberReport): void {
    for (const [name, id] of this.prober) {
      if (id !== report.id || report.holds[name] !== undefined) continue;
      this.prober.delete(name);
      this.proberDueSince.delete(name);
      const breaker = this.breakers.get(name);
      if (breaker === undefined || breaker.state !== 'open') continue;
      const trialSucceeded = report.recovered?.includes(name) === true;
      const jitter = (this.o.random ?? Math.random)() * Math.min(MAX_JITTER_MS, this.o.config.heartbeatMs / 4);
      (this.o.later ?? laterUnref)(() => {
        if (this.stopped || this.breakers.get(name) !== breaker) return;
        // Decided when it happens: a trial of its own may have failed meanwhile.
        if (trialSucceeded && this.hasNoEvidenceOfItsOwn(name)) breaker.closeOnEvidence('fleet');
        else breaker.actOnEvidence(true, 'fleet');
      }, jitter);
    }
  }

  /** Held open only because of the fleet, with no trial of its own failed since: nothing says its own path is broken. */
  private hasNoEvidenceOfItsOwn(name: string): boolean {
    return this.openedByFleet.has(name) && (this.failedTrials.get(name) ?? 0) === 0;
  }

  /** For each breaker open here: who runs the next trial, and if not this member, wait for it. */
  private coordinateTrials(): void {
    const hb = this.o.config.heartbeatMs;
    for (const [name, breaker] of this.breakers) {
      if (breaker.state !== 'open') continue;
      const others = this.view.otherHolders(name);
      const ownCalls = this.callsOf(name);
      const chosen = chooseProber(name, [
        { id: this.o.selfId, failed: this.failedTrials.get(name) ?? 0, calls: ownCalls },
        ...others.map((o) => ({ id: o.id, failed: o.probe.failed, calls: o.probe.calls })),
      ]);
      // A member that just failed a trial sets the fleet's next trial: when its next would have
      // been (its reset timeout, with backoff). Taken once per failure: following its due time
      // continuously would ratchet the new prober and it forward forever.
      let justFailedDue = 0;
      for (const o of others) {
        const key = `${name}\u0000${o.id}`;
        const seen = this.seenFailed.get(key) ?? 0;
        if (o.probe.failed === seen) continue;
        this.seenFailed.set(key, o.probe.failed);
        if (o.probe.failed > seen) justFailedDue = Math.max(justFailedDue, o.probe.dueInMs);
      }
      const info = others.find((o) => o.id === chosen)?.probe;
      if (chosen === null || chosen === this.o.selfId || info === undefined) {
        this.prober.delete(name);
        this.proberDueSince.delete(name);
        if (chosen === this.o.selfId && justFailedDue > 0) breaker.postponeTrial(breaker.now() + justFailedDue);
        continue;
      }
      if (this.prober.get(name) !== chosen) this.proberDueSince.delete(name);
      this.prober.set(name, chosen);
      const now = breaker.now();
      if (info.dueInMs > 0) {
        this.proberDueSince.delete(name);
        breaker.postponeTrial(now + info.dueInMs + hb);
      } else {
        const since = this.proberDueSince.get(name) ?? now;
        this.proberDueSince.set(name, since);
        const busier = trafficStep(ownCalls) > trafficStep(info.calls ?? 0);
        // Waiting on a live prober is renewed at every beat and message, and never outlasts the
        // beat at which a silent prober leaves the view (then the next one is chosen at once).
        const silent = this.view.silentFor(chosen, this.o.now()) ?? 0;
        const leavesIn = (MISSED_HEARTBEATS + 1) * hb - silent;
        breaker.postponeTrial(busier ? since + 2 * hb : now + Math.min(2 * hb, leavesIn));
      }
    }
  }

  /** Announces a local transition on the next turn (several in one turn make one message). */
  private announceSoon(): void {
    if (this.announcePending) return;
    this.announcePending = true;
    (this.o.defer ?? setImmediate)(() => {
      this.announcePending = false;
      if (!this.stopped) this.o.send(this.report());
    });
  }
}

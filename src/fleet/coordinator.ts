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
 */
import type { CircuitBreaker } from '../core/circuit-breaker';
import type { StateChangeEvent } from '../core/events';
import type { BreakerState } from '../core/types';
import type { FleetConfig } from '../config/types';
import { FleetView, type FleetHold, type MemberReport } from './view';

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
}

export class FleetCoordinator {
  readonly view: FleetView;
  private readonly openedByFleet = new Set<string>();
  private readonly reached = new Set<string>();
  private readonly listeners = new Map<string, (e: StateChangeEvent) => void>();
  private readonly breakers = new Map<string, CircuitBreaker>();
  private announcePending = false;
  private stopped = false;

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
    this.listeners.delete(name);
    this.breakers.delete(name);
    this.openedByFleet.delete(name);
  }

  /** Every heartbeat: forget silent members, act on the view, say where this member stands. */
  tick(): void {
    this.view.expire(this.o.now());
    this.evaluate();
    this.o.send(this.report());
  }

  /** A report from another member (heartbeat or announcement). */
  receive(report: MemberReport): void {
    this.view.heard(report, this.o.now());
    this.evaluate();
  }

  /** Another member left cleanly. */
  leave(id: string): void {
    this.view.left(id);
    this.evaluate();
  }

  report(): MemberReport {
    return { id: this.o.selfId, holds: this.holds() };
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
    if (e.to !== 'open' && e.to !== 'half_open') this.openedByFleet.delete(name);
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

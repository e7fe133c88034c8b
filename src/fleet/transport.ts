/**
 * The fleet channel: breakerbox's own NATS connection, made, marked as ours (never guarded or
 * counted by the nats patcher) and remade by us. nats.js's own reconnect loop is off: its
 * timers would keep the process alive, and ours are unref'd. Everything here is fire and
 * forget: `send` publishes into nats.js's buffer or drops the message (the next heartbeat
 * repeats it), so nothing a guarded call does ever waits on NATS.
 */
import type { ConnectionOptions, Msg, NatsConnection, NatsError } from 'nats';
import { connectUnguarded, markOwnConnection } from '../instrumentation/nats-own';
import { unrefConnection } from './handles';
import {
  adminSubject,
  decodeAdmin,
  decodeLeave,
  decodeReport,
  encodeAdmin,
  encodeLeave,
  encodeReport,
  fleetWildcard,
  leaveSubject,
  stateSubject,
  type AdminCommand,
} from './messages';
import type { MemberReport } from './view';

export interface FleetTransportOptions {
  /** NATS servers (the validated `fleet.url`, split on commas). */
  readonly servers: string[];
  readonly fleet: string;
  readonly selfId: string;
  /** Breakers the fleet shares: reports about any other name are dropped. */
  readonly shared: readonly string[];
  /** nats's `connect`, loaded only when fleet mode is on. */
  readonly connect: (opts: ConnectionOptions) => Promise<NatsConnection>;
  /** Pause before dialling again after a failed or lost connection, ms. */
  readonly retryMs: number;
  readonly onReport: (report: MemberReport) => void;
  readonly onLeave: (id: string) => void;
  /** An operator's fleet-wide open or close, sent by another member. */
  readonly onAdmin?: (command: AdminCommand) => void;
  readonly onConnected?: (connected: boolean) => void;
  readonly onError?: (message: string) => void;
}

/** Bounds how long one dial may hold a (ref'd) socket and timer. */
const DIAL_TIMEOUT_MS = 2000;

export class FleetTransport {
  private nc: NatsConnection | null = null;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly shared: ReadonlySet<string>;
  private lastError = '';

  constructor(private readonly o: FleetTransportOptions) {
    this.shared = new Set(o.shared);
  }

  get connected(): boolean {
    return this.nc !== null;
  }

  /** Starts dialling; never throws, never waits. */
  start(): void {
    this.dial();
  }

  /** Publishes a report if connected; otherwise drops it (the next heartbeat repeats it). */
  send(report: MemberReport): void {
    const nc = this.nc;
    if (nc === null) return;
    try {
      nc.publish(stateSubject(this.o.fleet), encodeReport(report));
      unrefConnection(nc);
    } catch {
      // Closing under us: the closed() handler takes it from here.
    }
  }

  /** Publishes an operator's command to the other members; false when not connected (nothing sent). */
  sendAdmin(command: AdminCommand): boolean {
    const nc = this.nc;
    if (nc === null) return false;
    try {
      nc.publish(adminSubject(this.o.fleet), encodeAdmin(command));
      unrefConnection(nc);
      return true;
    } catch {
      return false;
    }
  }

  /** Says goodbye and closes. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const nc = this.nc;
    this.nc = null;
    if (nc === null) return;
    try {
      nc.publish(leaveSubject(this.o.fleet), encodeLeave(this.o.selfId));
      await nc.flush();
    } catch {
      // Leaving anyway: the others notice after 3 heartbeats.
    }
    await nc.close().catch(() => undefined);
  }

  private dial(): void {
    if (this.stopped) return;
    let attempt: Promise<NatsConnection>;
    try {
      attempt = connectUnguarded(() =>
        this.o.connect({
          servers: this.o.servers,
          name: `breakerbox-fleet-${this.o.fleet}`,
          reconnect: false,
          noEcho: true,
          timeout: DIAL_TIMEOUT_MS,
        }),
      );
    } catch (err) {
      this.retryLater(err);
      return;
    }
    attempt.then(
      (nc) => this.adopt(nc),
      (err: unknown) => this.retryLater(err),
    );
  }

  private adopt(nc: NatsConnection): void {
    markOwnConnection(nc);
    unrefConnection(nc);
    if (this.stopped) {
      void nc.close().catch(() => undefined);
      return;
    }
    try {
      nc.subscribe(fleetWildcard(this.o.fleet), { callback: (err, msg) => this.receive(err, msg) });
    } catch (err) {
      void nc.close().catch(() => undefined);
      this.retryLater(err);
      return;
    }
    this.nc = nc;
    this.lastError = '';
    this.o.onConnected?.(true);
    void nc.closed().then(() => {
      if (this.nc !== nc) return;
      this.nc = null;
      this.o.onConnected?.(false);
      this.retryLater(new Error('the fleet connection to NATS closed'));
    });
  }

  private receive(err: NatsError | null, msg: Msg): void {
    if (err !== null) return;
    try {
      if (msg.subject === leaveSubject(this.o.fleet)) {
        const id = decodeLeave(msg.data);
        if (id !== null && id !== this.o.selfId) this.o.onLeave(id);
        return;
      }
      if (msg.subject === adminSubject(this.o.fleet)) {
        const command = decodeAdmin(msg.data, this.shared);
        if (command !== null && command.id !== this.o.selfId) this.o.onAdmin?.(command);
        return;
      }
      const report = decodeReport(msg.data, this.shared);
      if (report !== null && report.id !== this.o.selfId) this.o.onReport(report);
    } catch {
      // A handler bug must not end the subscription.
    }
  }

  private retryLater(err: unknown): void {
    if (this.stopped) return;
    const text = err instanceof Error ? err.message : String(err);
    // One line per change of trouble, not one per retry.
    if (text !== this.lastError) this.o.onError?.(text);
    this.lastError = text;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.dial();
    }, this.o.retryMs);
    this.retryTimer.unref();
  }
}

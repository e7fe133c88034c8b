/**
 * What the rest of breakerbox (metrics, health, admin) may ask of this process's fleet member.
 * The registry holds it so that telemetry and the monitoring server reach the fleet without
 * depending on it: fleet mode is optional, and its NATS code is loaded only when it is on.
 */
export interface FleetBreakerStatus {
  /** Members (this one included) holding the breaker open on their own evidence. */
  openMembers: number;
  /** Members needed for the fleet to open it (the configured count or percentage, at least 2). */
  quorum: number;
  /** The member that runs the next half-open trial while the fleet holds it open; null when none does. */
  prober: string | null;
}

/** Operator actions that can be announced to every member. */
export type FleetAdminAction = 'open' | 'close';
export const FLEET_ADMIN_ACTIONS: readonly FleetAdminAction[] = ['open', 'close'];

export interface FleetLink {
  /** This member's id in the fleet. */
  readonly id: string;
  /** Whether the fleet channel (NATS) is up right now. */
  readonly connected: boolean;
  /** Members in this member's view, itself included. */
  readonly members: number;
  /** The breakers the fleet shares (bounded: from the config). */
  readonly shared: readonly string[];
  /** Null for a breaker the fleet does not share. */
  status(breaker: string): FleetBreakerStatus | null;
  /** Tells every other member to apply `action` to `breaker`; false when the channel is down. */
  announceAdmin(breaker: string, action: FleetAdminAction): boolean;
}

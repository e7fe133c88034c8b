/**
 * One fleet member: this process's shared breakers (from the registry), the coordinator and
 * the NATS transport, and the heartbeat that drives them. Built only when fleet mode is on.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ConnectionOptions, NatsConnection } from 'nats';
import type { FleetConfig } from '../config/types';
import type { BreakerRegistry } from '../registry';
import { applyAdmin } from '../registry/admin';
import type { FleetLink } from '../registry/fleet-link';
import { FleetCoordinator } from './coordinator';
import { FleetTransport } from './transport';

export interface FleetMemberOptions {
  readonly config: FleetConfig;
  readonly registry: BreakerRegistry;
  /** nats's `connect`. */
  readonly connect: (opts: ConnectionOptions) => Promise<NatsConnection>;
  /** Default: host name, pid and a random suffix (two processes never share one). */
  readonly selfId?: string;
  /** For transport trouble (NATS unreachable, lost): one line per change. */
  readonly warn?: (message: string) => void;
  readonly onConnected?: (connected: boolean) => void;
}

export interface FleetMember {
  readonly id: string;
  readonly coordinator: FleetCoordinator;
  readonly transport: FleetTransport;
  /** Says goodbye on the fleet channel, closes it, and lets the breakers go. */
  stop(): Promise<void>;
}

export function startFleetMember(o: FleetMemberOptions): FleetMember {
  const { config, registry } = o;
  const id = o.selfId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const shared = new Set(config.breakers);
  let transport: FleetTransport | null = null;
  const coordinator = new FleetCoordinator({
    selfId: id,
    config,
    send: (report) => transport?.send(report),
    // Only for telling silent members apart: monotonic, unlike Date.now().
    now: () => performance.now(),
  });
  transport = new FleetTransport({
    servers: config.url.split(',').map((s) => s.trim()),
    fleet: config.name,
    selfId: id,
    shared: config.breakers,
    connect: o.connect,
    retryMs: Math.max(config.heartbeatMs, 1000),
    onReport: (report) => coordinator.receive(report),
    onLeave: (member) => coordinator.leave(member),
    // Another member's operator acted fleet-wide: the same action here, on this member's breaker.
    onAdmin: (command) => void applyAdmin(registry, command.breaker, command.action),
    onConnected: (up) => {
      // Say where we stand at once, rather than at the next beat.
      if (up) transport?.send(coordinator.report());
      o.onConnected?.(up);
    },
    onError: (message) =>
      o.warn?.(
        `breakerbox fleet: NATS at ${config.url} unreachable or lost (${message}); breakers keep working on their own evidence, rejoining when it is back`,
      ),
  });
  coordinator.start();
  // Module breakers exist from startup; manual ones when the app builds them (registry.get).
  registry.onAdd((entry) => {
    if (entry.parent === null && shared.has(entry.breaker.name)) coordinator.attach(entry.breaker.name, entry.breaker);
  });
  transport.start();
  const t = transport;
  const link: FleetLink = {
    id,
    get connected() {
      return t.connected;
    },
    get members() {
      return coordinator.view.memberCount;
    },
    shared: config.breakers,
    status: (breaker) => coordinator.status(breaker),
    announceAdmin: (breaker, action) => t.sendAdmin({ id, breaker, action }),
  };
  registry.fleet = link;
  const timer = setInterval(() => coordinator.tick(), config.heartbeatMs);
  timer.unref();

  let stopping: Promise<void> | null = null;
  return {
    id,
    coordinator,
    transport,
    stop: () =>
      (stopping ??= (async () => {
        clearInterval(timer);
        if (registry.fleet === link) registry.fleet = null;
        coordinator.stop();
        await transport.stop();
      })()),
  };
}

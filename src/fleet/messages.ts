/**
 * What members say to each other, on two subjects per fleet:
 * - `breakerbox.fleet.<fleet>.state`: a member's full report (every shared breaker it holds
 *   open, and how). Sent every heartbeat and at once on each local transition, so a missed
 *   announcement is repaired by the next heartbeat and nothing needs ordering or acks.
 * - `breakerbox.fleet.<fleet>.leave`: a clean shutdown, so the others need not wait 3 beats.
 * - `breakerbox.fleet.<fleet>.admin`: an operator's open or close with `?scope=fleet`, which
 *   every member applies to its own breaker (once: it is a command, not a state to repair).
 * JSON, versioned; anything malformed (another version, a stranger on the subject) is dropped.
 */
import type { FleetAdminAction } from '../registry/fleet-link';
import type { FleetHold, MemberReport, ProbeInfo } from './view';

const VERSION = 1;
const MAX_ID_CHARS = 128;

export function stateSubject(fleet: string): string {
  return `breakerbox.fleet.${fleet}.state`;
}

export function leaveSubject(fleet: string): string {
  return `breakerbox.fleet.${fleet}.leave`;
}

export function adminSubject(fleet: string): string {
  return `breakerbox.fleet.${fleet}.admin`;
}

export function fleetWildcard(fleet: string): string {
  return `breakerbox.fleet.${fleet}.*`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeReport(report: MemberReport): Uint8Array {
  return encoder.encode(
    JSON.stringify({ v: VERSION, id: report.id, holds: report.holds, probes: report.probes ?? {}, recovered: report.recovered ?? [] }),
  );
}

export function encodeLeave(id: string): Uint8Array {
  return encoder.encode(JSON.stringify({ v: VERSION, id }));
}

export interface AdminCommand {
  readonly id: string;
  readonly breaker: string;
  readonly action: FleetAdminAction;
}

export function encodeAdmin(c: AdminCommand): Uint8Array {
  return encoder.encode(JSON.stringify({ v: VERSION, id: c.id, breaker: c.breaker, action: c.action }));
}

/** An operator's command for a breaker this member shares, or null (malformed, or a breaker it does not share). */
export function decodeAdmin(data: Uint8Array, shared: ReadonlySet<string>): AdminCommand | null {
  const m = parse(data);
  if (m === null) return null;
  const { breaker, action } = m.body;
  if (typeof breaker !== 'string' || !shared.has(breaker) || (action !== 'open' && action !== 'close')) return null;
  return { id: m.id, breaker, action };
}

/** The sender's id, or null when the message is not one of ours. */
export function decodeLeave(data: Uint8Array): string | null {
  const m = parse(data);
  return m === null ? null : m.id;
}

/**
 * A report, keeping only the breakers this member shares: names are metric labels and map
 * keys here, so they must stay a bounded set whatever a peer sends.
 */
export function decodeReport(data: Uint8Array, shared: ReadonlySet<string>): MemberReport | null {
  const m = parse(data);
  if (m === null) return null;
  const raw = m.body.holds;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const holds: Record<string, FleetHold> = {};
  for (const [name, hold] of Object.entries(raw as Record<string, unknown>)) {
    if (shared.has(name) && (hold === 'own' || hold === 'fleet')) holds[name] = hold;
  }
  const probes: Record<string, ProbeInfo> = {};
  const rawProbes = m.body.probes;
  if (typeof rawProbes === 'object' && rawProbes !== null) {
    for (const name of Object.keys(holds)) {
      const p = (rawProbes as Record<string, { failed?: unknown; dueInMs?: unknown; calls?: unknown } | undefined>)[name];
      if (p && isCount(p.failed) && isCount(p.dueInMs))
        probes[name] = { failed: p.failed, dueInMs: p.dueInMs, calls: isCount(p.calls) ? p.calls : 0 };
    }
  }
  const rawRecovered = m.body.recovered;
  const recovered = Array.isArray(rawRecovered)
    ? [...new Set(rawRecovered.filter((name): name is string => typeof name === 'string' && shared.has(name) && holds[name] === undefined))]
    : [];
  return { id: m.id, holds, probes, recovered };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function parse(data: Uint8Array): { id: string; body: Record<string, unknown> } | null {
  let body: unknown;
  try {
    body = JSON.parse(decoder.decode(data));
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { v, id } = body as { v?: unknown; id?: unknown };
  if (v !== VERSION || typeof id !== 'string' || id === '' || id.length > MAX_ID_CHARS) return null;
  return { id, body: body as Record<string, unknown> };
}

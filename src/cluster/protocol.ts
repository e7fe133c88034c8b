/**
 * How cluster workers and worker threads hand their breakers to the process that owns the
 * monitoring port: newline-delimited JSON over a loopback TCP connection the member opens
 * to the hub. Nothing goes through `process.send` or listeners on the app's process.
 */
import type { AdminAction, AdminOutcome, BreakerHealth, BreakerStatsSnapshot, HealthScope } from '../registry';
import type { BreakerSeries, FleetSeries } from '../telemetry/series';

export type { AdminAction };

/**
 * Set by the hub for the processes and threads it can serve: `<ownerPid>:<socketId>:<token>`.
 * The socket's name is visible to every local user (/proc/net/unix); the token, only in the
 * environment of the app's own processes, is what a member must present.
 */
export const HUB_ENV = 'BREAKERBOX_HUB';

export type HubRequest = { id: number; op: 'collect'; scope: HealthScope } | { id: number; op: 'admin'; name: string; action: AdminAction };

export interface Collected {
  series: BreakerSeries[];
  /** The worker's fleet member, when it runs one (each cluster worker is an instance of its own). */
  fleet?: FleetSeries | null;
  health: BreakerHealth[];
  stats: BreakerStatsSnapshot[];
}

export type AdminResult = AdminOutcome;

export type MemberMessage =
  | { hello: { token: string; kind: 'process' | 'thread'; pid: number; threadId: number } }
  | ({ id: number } & Collected)
  | ({ id: number } & AdminResult);

export interface HubAddress {
  ownerPid: number;
  socketId: string;
  token: string;
}

export function formatHubAddress(a: HubAddress): string {
  return `${a.ownerPid}:${a.socketId}:${a.token}`;
}

export function parseHubAddress(value: string | undefined): HubAddress | null {
  const m = /^(\d+):([0-9a-f]{16}):([0-9a-f]{32})$/.exec(value ?? '');
  return m ? { ownerPid: Number(m[1]), socketId: m[2], token: m[3] } : null;
}

/**
 * Where the hub listens, known before it listens, so the variable is in place before the
 * app's first line forks a worker: an abstract socket on Linux (no file to clean up), a
 * named pipe on Windows, a socket file in the temp directory elsewhere.
 */
export function hubPath(socketId: string): string {
  if (process.platform === 'linux') return `\0breakerbox-${socketId}`;
  if (process.platform === 'win32') return `\\\\.\\pipe\\breakerbox-${socketId}`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { tmpdir } = require('node:os') as typeof import('node:os');
  return `${tmpdir()}/breakerbox-${socketId}.sock`;
}

/** Splits a byte stream into JSON lines; bad lines are dropped (a peer is never trusted to be well-formed). */
export function lineReader(onMessage: (msg: unknown) => void): (chunk: string) => void {
  let partial = '';
  return (chunk) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        onMessage(JSON.parse(line));
      } catch {
        // ignore a malformed line
      }
    }
  };
}

/**
 * Fleet mode from `breakerbox/register`, when `fleet.enabled: true`. The `nats` package is
 * required here and only here, so an app with fleet mode off never needs it installed.
 */
import type { ConnectionOptions, NatsConnection } from 'nats';
import type { BreakerboxConfig } from '../config';
import type { BreakerRegistry } from '../registry';
import type { FleetMember } from './member';

type Log = (level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;

/** Starts this process's fleet member, or returns null (and says why) when it cannot. Never throws. */
export function startFleet(config: BreakerboxConfig, registry: BreakerRegistry, log: Log): FleetMember | null {
  const fleet = config.fleet;
  if (!fleet.enabled) return null;
  let connect: (opts: ConnectionOptions) => Promise<NatsConnection>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    connect = (require('nats') as { connect: typeof connect }).connect;
  } catch {
    log(
      'warn',
      'breakerbox fleet: fleet.enabled is true but the "nats" package is not installed (npm install nats); breakers work on their own, without the fleet',
      { config: config.source },
    );
    return null;
  }
  // The member (and node:crypto, node:os) load only here: most processes run no fleet.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startFleetMember } = require('./member') as typeof import('./member');
  const member = startFleetMember({
    config: fleet,
    registry,
    connect,
    warn: (msg) => log('warn', msg),
    onConnected: (up) => log('info', up ? 'breakerbox fleet: joined' : 'breakerbox fleet: lost the fleet channel', { fleet: fleet.name }),
  });
  log('info', 'breakerbox fleet mode', { fleet: fleet.name, member: member.id, url: fleet.url, breakers: fleet.breakers });
  return member;
}

import { isMainThread } from 'node:worker_threads';
import type { BreakerRegistry } from '../registry';
import type { BreakerboxMetricProducer } from '../telemetry';
import { BreakerHub } from './hub';
import { joinHub } from './member';
import { HUB_ENV, parseHubAddress } from './protocol';

export { BreakerHub } from './hub';

/**
 * Whether this process or thread is served by a hub: a worker thread of the hub's process,
 * or a `node:cluster` worker forked by it (or a thread of such a worker). Anything else that
 * merely inherited the variable (a child process the app spawned) runs on its own.
 */
export function joinsHub(): boolean {
  const hub = parseHubAddress(process.env[HUB_ENV]);
  if (!hub) return false;
  if (!isMainThread && hub.ownerPid === process.pid) return true;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cluster = require('node:cluster') as { isWorker: boolean };
  return hub.ownerPid === process.ppid && (cluster.isWorker || !isMainThread);
}

/** In a member: hands its breakers to the hub. */
export function joinClusterHub(registry: BreakerRegistry): void {
  const hub = parseHubAddress(process.env[HUB_ENV]);
  if (hub) joinHub(registry, hub);
}

/**
 * In the process that owns the monitoring port: starts the hub, and serves the members'
 * series through `producer` (this process's own gauges labelled `worker="primary"` while a
 * member is connected). Synchronous, so workers forked on the app's first line find it.
 */
export function startClusterHub(producer: BreakerboxMetricProducer | null): BreakerHub {
  const hub = BreakerHub.start();
  producer?.serveRemote(async () => {
    if (hub.size === 0) return null;
    const members = await hub.collect('all');
    return members.length === 0 ? null : members.map((m) => ({ worker: m.worker, series: m.answer.series, fleet: m.answer.fleet ?? null }));
  }, 'primary');
  return hub;
}

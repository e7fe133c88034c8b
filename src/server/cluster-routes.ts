import type { ServerResponse } from 'node:http';
import {
  applyAdmin,
  healthReport,
  refusesCalls,
  statsOf,
  type AdminAction,
  type AdminOutcome,
  type BreakerHealth,
  type BreakerRegistry,
  type BreakerStatsSnapshot,
  type HealthScope,
} from '../registry';
import { sendError, sendJson } from './respond';

/**
 * The workers and threads served on this port (the cluster hub), as the routes need them.
 * Each cluster route calls `alone` (the single-process answer) when no member has anything
 * to say, so an app without workers answers exactly as before.
 */
export interface Members {
  readonly size: number;
  collect(
    scope: HealthScope,
  ): Promise<{ worker: string; pid: number; answer: { health: BreakerHealth[]; stats: BreakerStatsSnapshot[] } }[]>;
  admin(name: string, action: AdminAction): Promise<{ worker: string; pid: number; answer: AdminOutcome }[]>;
}

type Labelled<T> = T & { worker: string; pid: number };

const PRIMARY = 'primary';

function label<T extends object>(items: T[], worker: string, pid: number): Labelled<T>[] {
  return items.map((i) => ({ ...i, worker, pid }));
}

/** Every breaker of this process and its members, each labelled with the worker that holds it; null when no member has anything to say. */
async function everyHealth(
  registry: BreakerRegistry,
  members: Members,
  scope: HealthScope,
): Promise<{ breakers: Labelled<BreakerHealth>[]; workers: { worker: string; pid: number }[] } | null> {
  const remote = await members.collect(scope);
  if (remote.length === 0) return null;
  const breakers = [
    ...label(healthReport(registry, scope).breakers, PRIMARY, process.pid),
    ...remote.flatMap((m) => label(m.answer.health, m.worker, m.pid)),
  ];
  return { breakers, workers: [{ worker: PRIMARY, pid: process.pid }, ...remote.map((m) => ({ worker: m.worker, pid: m.pid }))] };
}

/** GET /health/circuit-breakers over the cluster: 503 when any worker's breaker refuses calls. */
export async function clusterHealth(
  registry: BreakerRegistry,
  members: Members,
  scope: HealthScope,
  res: ServerResponse,
  head: boolean,
  alone: () => void,
): Promise<void> {
  const all = await everyHealth(registry, members, scope);
  if (all === null) return alone();
  const { breakers, workers } = all;
  const unhealthy = [...new Set(breakers.filter(refusesCalls).map((b) => b.name))];
  sendJson(
    res,
    unhealthy.length > 0 ? 503 : 200,
    { status: unhealthy.length > 0 ? 'unhealthy' : 'ok', unhealthy, breakers, workers },
    head,
  );
}

/** GET /health/circuit-breakers/{name} over the cluster: the breaker as each worker holds it. */
export async function clusterHealthOne(
  registry: BreakerRegistry,
  members: Members,
  name: string,
  res: ServerResponse,
  head: boolean,
  alone: () => void,
): Promise<void> {
  const all = await everyHealth(registry, members, 'all');
  if (all === null) return alone();
  const found = all.breakers.filter((b) => b.name === name);
  if (found.length === 0) return sendError(res, 404, `no circuit breaker named ${JSON.stringify(name)}`);
  const refusing = found.filter(refusesCalls).map((b) => b.worker);
  sendJson(res, refusing.length > 0 ? 503 : 200, { name, refusingWorkers: refusing, workers: found }, head);
}

/** GET /metrics/circuit-breakers over the cluster. */
export async function clusterStats(
  registry: BreakerRegistry,
  members: Members,
  res: ServerResponse,
  head: boolean,
  alone: () => void,
): Promise<void> {
  const remote = await members.collect('all');
  if (remote.length === 0) return alone();
  const local = registry.list().map((e) => statsOf(e, registry));
  sendJson(
    res,
    200,
    { breakers: [...label(local, PRIMARY, process.pid), ...remote.flatMap((m) => label(m.answer.stats, m.worker, m.pid))] },
    head,
  );
}

/** POST /circuit-breakers/{name}/{action} over the cluster: every worker holding the breaker acts. */
export async function clusterAdmin(
  registry: BreakerRegistry,
  members: Members,
  name: string,
  action: AdminAction,
  res: ServerResponse,
  alone: () => void,
): Promise<void> {
  const remote = (await members.admin(name, action)).filter((a) => a.answer.found);
  if (remote.length === 0) return alone();
  const all = [{ worker: PRIMARY, pid: process.pid, answer: applyAdmin(registry, name, action) }, ...remote].filter((a) => a.answer.found);
  sendJson(res, 200, {
    breaker: name,
    action,
    workers: all.map((a) => ({
      worker: a.worker,
      pid: a.pid,
      from: a.answer.from,
      state: a.answer.state,
      ...(a.answer.targets !== undefined ? { targets: a.answer.targets } : {}),
    })),
  });
}

/** Runs an async route; a failure answers 500 without details. */
export function answerAsync(res: ServerResponse, work: Promise<void>): void {
  work.catch(() => {
    if (!res.headersSent) sendError(res, 500, 'internal error');
    else res.end();
  });
}

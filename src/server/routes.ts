import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminAction, BreakerRegistry, FleetAdminAction } from '../registry';
import {
  ADMIN_ACTIONS,
  applyAdmin,
  FLEET_ADMIN_ACTIONS,
  HEALTH_SCOPES,
  healthOf,
  healthReport,
  refusesCalls,
  statsOf,
  type HealthScope,
} from '../registry';
import { checkAdminToken } from './admin-auth';
import { answerAsync, clusterAdmin, clusterHealth, clusterHealthOne, clusterStats, type Members } from './cluster-routes';
import { sendError, sendJson } from './respond';

export interface RouteContext {
  registry: BreakerRegistry;
  /** Serves `GET /metrics`; absent when metrics are off. */
  metricsHandler: ((req: IncomingMessage, res: ServerResponse) => void) | null;
  /** Why /metrics is not served (the 503 answer says it). */
  metricsNote?: string;
  adminToken: string | undefined;
  /**
   * Set when breakerbox is switched off (the rollback switch): health still answers 200,
   * with this reason, so readiness probes keep the pods of a rollback in service.
   */
  disabledReason?: string;
  /** Cluster workers and worker threads served on this port, when this process is their hub. */
  members?: Members | null;
}

/** Dispatches one request. Never throws and never puts a stack trace in an answer. */
export function handle(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): void {
  const target = splitTarget(req.url ?? '/');
  if (target === null) return sendError(res, 400, 'malformed request URL');
  const { path, query } = target;
  const method = req.method ?? 'GET';
  const isRead = method === 'GET' || method === 'HEAD';
  const head = method === 'HEAD';
  let m: RegExpExecArray | null;

  if (ROUTE.metrics.test(path)) {
    if (!isRead) return sendError(res, 405, `${method} not allowed on /metrics`, { allow: 'GET, HEAD' });
    if (!ctx.metricsHandler)
      return sendError(res, 503, `metrics ${ctx.metricsNote ?? 'are disabled (OTEL_SDK_DISABLED or monitoring off)'}`);
    return ctx.metricsHandler(req, res);
  }
  if (ROUTE.health.test(path)) {
    if (!isRead) return sendError(res, 405, `${method} not allowed on ${path}`, { allow: 'GET, HEAD' });
    const scope = scopeOf(query);
    if (scope === null)
      return sendError(res, 400, `scope=${JSON.stringify(query.get('scope'))}: expected one of ${HEALTH_SCOPES.join(', ')}`);
    if (ctx.disabledReason !== undefined) {
      const breakers = healthReport(ctx.registry, scope).breakers;
      return sendJson(res, 200, { status: 'ok', enabled: false, reason: ctx.disabledReason, unhealthy: [], breakers }, head);
    }
    const alone = (): void => {
      const report = healthReport(ctx.registry, scope);
      sendJson(res, report.unhealthy.length > 0 ? 503 : 200, report, head);
    };
    const members = served(ctx);
    return members ? answerAsync(res, clusterHealth(ctx.registry, members, scope, res, head, alone)) : alone();
  }
  if ((m = ROUTE.healthOne.exec(path))) {
    if (!isRead) return sendError(res, 405, `${method} not allowed on ${path}`, { allow: 'GET, HEAD' });
    const name = decodeName(m[1]);
    const alone = (): void => {
      const entry = name === null ? undefined : ctx.registry.list().find((e) => e.breaker.name === name);
      if (!entry) return sendError(res, 404, `no circuit breaker named ${JSON.stringify(name)}`);
      const health = healthOf(entry, ctx.registry);
      sendJson(res, refusesCalls(health) ? 503 : 200, health, head);
    };
    const members = served(ctx);
    return members && name !== null ? answerAsync(res, clusterHealthOne(ctx.registry, members, name, res, head, alone)) : alone();
  }
  if (ROUTE.stats.test(path)) {
    if (!isRead) return sendError(res, 405, `${method} not allowed on ${path}`, { allow: 'GET, HEAD' });
    const alone = (): void => sendJson(res, 200, { breakers: ctx.registry.list().map((e) => statsOf(e, ctx.registry)) }, head);
    const members = served(ctx);
    return members ? answerAsync(res, clusterStats(ctx.registry, members, res, head, alone)) : alone();
  }
  if ((m = ROUTE.admin.exec(path))) {
    return handleAdmin(ctx, req, res, m[1], query);
  }
  return sendError(res, 404, `no route for ${path}`);
}

/**
 * Routes tolerate repeated slashes between their fixed segments (proxies that join a base
 * path and a route often send `//health/...`), but a breaker name is taken as sent: child
 * names such as `websocket@ws://host:80` hold slashes of their own.
 */
const ROUTE = {
  metrics: /^\/+metrics\/*$/,
  health: /^\/+health\/+circuit-breakers\/*$/,
  healthOne: /^\/+health\/+circuit-breakers\/+(.+)$/,
  stats: /^\/+metrics\/+circuit-breakers\/*$/,
  admin: /^\/+circuit-breakers\/+(.+)$/,
};

/**
 * The path and query of a request target. Not `new URL(target, base)`: it reads a target
 * starting with `//` as a host name. Absolute-form targets (`GET http://h/metrics`) are
 * accepted, as HTTP requires of servers.
 */
function splitTarget(raw: string): { path: string; query: URLSearchParams } | null {
  if (/^https?:\/\//i.test(raw)) {
    try {
      const url = new URL(raw);
      return { path: url.pathname, query: url.searchParams };
    } catch {
      return null;
    }
  }
  if (!raw.startsWith('/')) return null;
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const hash = path.indexOf('#');
  return { path: hash === -1 ? path : path.slice(0, hash), query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)) };
}

function handleAdmin(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, rest: string, query: URLSearchParams): void {
  const slash = rest.lastIndexOf('/');
  const action = rest.slice(slash + 1) as AdminAction;
  const name = slash > 0 ? decodeName(rest.slice(0, slash)) : null;
  if (name === null || !ADMIN_ACTIONS.includes(action)) {
    return sendError(res, 404, `no route; use POST /circuit-breakers/{name}/{${ADMIN_ACTIONS.join(',')}}`);
  }
  if (req.method !== 'POST') return sendError(res, 405, `${req.method} not allowed; use POST`, { allow: 'POST' });
  const auth = checkAdminToken(req, ctx.adminToken);
  if (!auth.ok) return sendError(res, 401, auth.message, { 'www-authenticate': 'Bearer' });
  const scope = query.get('scope') ?? '';
  if (scope !== '' && scope !== 'fleet')
    return sendError(res, 400, `scope=${JSON.stringify(scope)}: expected fleet (every member of the fleet), or no scope (this instance)`);
  let fleetWide: { scope: 'fleet'; members: number } | null = null;
  if (scope === 'fleet') {
    const refused = refuseFleetAdmin(ctx, name, action);
    if (refused !== null) return sendError(res, refused.status, refused.message);
    // Checked above: the fleet is on, shares this breaker and is connected.
    const fleet = ctx.registry.fleet!;
    if (!fleet.announceAdmin(name, action as FleetAdminAction))
      return sendError(res, 503, 'scope=fleet: the fleet channel (NATS) went down; nothing was done');
    fleetWide = { scope: 'fleet', members: fleet.members };
  }
  const alone = (): void => {
    const outcome = applyAdmin(ctx.registry, name, action);
    if (!outcome.found) return sendError(res, 404, `no circuit breaker named ${JSON.stringify(name)}`);
    sendJson(res, 200, {
      breaker: name,
      action,
      from: outcome.from,
      state: outcome.state,
      ...(outcome.targets !== undefined ? { targets: outcome.targets } : {}),
      ...fleetWide,
    });
  };
  req.resume();
  const members = served(ctx);
  return members ? answerAsync(res, clusterAdmin(ctx.registry, members, name, action, res, alone)) : alone();
}

/** Why a `?scope=fleet` action cannot be announced, or null when it can. */
function refuseFleetAdmin(ctx: RouteContext, name: string, action: AdminAction): { status: number; message: string } | null {
  if (!(FLEET_ADMIN_ACTIONS as readonly string[]).includes(action)) {
    return {
      status: 400,
      message: `scope=fleet: ${action} acts on this instance only; fleet-wide actions are ${FLEET_ADMIN_ACTIONS.join(', ')}`,
    };
  }
  const fleet = ctx.registry.fleet;
  if (fleet === null)
    return { status: 400, message: 'scope=fleet: fleet mode is off on this instance (circuit_breakers.fleet.enabled: false)' };
  if (!fleet.shared.includes(name)) {
    return {
      status: 400,
      message: `scope=fleet: the fleet does not share ${JSON.stringify(name)} (fleet.breakers: ${JSON.stringify(fleet.shared)})`,
    };
  }
  if (!fleet.connected) return { status: 503, message: 'scope=fleet: not connected to the fleet channel (NATS); nothing was done' };
  return null;
}

/** The members to ask as well, when there are any right now. */
function served(ctx: RouteContext): Members | null {
  return ctx.members && ctx.members.size > 0 ? ctx.members : null;
}

function scopeOf(query: URLSearchParams): HealthScope | null {
  const raw = query.get('scope');
  if (raw === null || raw === '') return 'all';
  return (HEALTH_SCOPES as readonly string[]).includes(raw) ? (raw as HealthScope) : null;
}

function decodeName(raw: string): string | null {
  try {
    const name = decodeURIComponent(raw);
    return name.length > 0 ? name : null;
  } catch {
    return null;
  }
}

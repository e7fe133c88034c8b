import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CircuitBreaker } from '../core/circuit-breaker';
import type { BreakerRegistry } from '../registry';
import { HEALTH_SCOPES, healthOf, healthReport, refusesCalls, statsOf, type HealthScope } from '../registry';
import { checkAdminToken } from './admin-auth';
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
}

const ADMIN_ACTIONS = ['open', 'close', 'reset', 'disable', 'enable'] as const;
type AdminAction = (typeof ADMIN_ACTIONS)[number];

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
    if (!ctx.metricsHandler) return sendError(res, 503, `metrics ${ctx.metricsNote ?? 'are disabled (OTEL_SDK_DISABLED or monitoring off)'}`);
    return ctx.metricsHandler(req, res);
  }
  if (ROUTE.health.test(path)) {
    if (!isRead) return sendError(res, 405, `${method} not allowed on ${path}`, { allow: 'GET, HEAD' });
    const scope = scopeOf(query);
    if (scope === null) return sendError(res, 400, `scope=${JSON.stringify(query.get('scope'))}: expected one of ${HEALTH_SCOPES.join(', ')}`);
    const report = healthReport(ctx.registry, scope);
    if (ctx.disabledReason !== undefined) {
      return sendJson(res, 200, { status: 'ok', enabled: false, reason: ctx.disabledReason, unhealthy: [], breakers: report.breakers }, head);
    }
    return sendJson(res, report.unhealthy.length > 0 ? 503 : 200, report, head);
  }
  if ((m = ROUTE.healthOne.exec(path))) {
    if (!isRead) return sendError(res, 405, `${method} not allowed on ${path}`, { allow: 'GET, HEAD' });
    const name = decodeName(m[1]);
    const entry = name === null ? undefined : ctx.registry.list().find((e) => e.breaker.name === name);
    if (!entry) return sendError(res, 404, `no circuit breaker named ${JSON.stringify(name)}`);
    const health = healthOf(entry, ctx.registry);
    return sendJson(res, refusesCalls(health) ? 503 : 200, health, head);
  }
  if (ROUTE.stats.test(path)) {
    if (!isRead) return sendError(res, 405, `${method} not allowed on ${path}`, { allow: 'GET, HEAD' });
    return sendJson(res, 200, { breakers: ctx.registry.list().map((e) => statsOf(e, ctx.registry)) }, head);
  }
  if ((m = ROUTE.admin.exec(path))) {
    return handleAdmin(ctx, req, res, m[1]);
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

function handleAdmin(ctx: RouteContext, req: IncomingMessage, res: ServerResponse, rest: string): void {
  const slash = rest.lastIndexOf('/');
  const action = rest.slice(slash + 1) as AdminAction;
  const name = slash > 0 ? decodeName(rest.slice(0, slash)) : null;
  if (name === null || !ADMIN_ACTIONS.includes(action)) {
    return sendError(res, 404, `no route; use POST /circuit-breakers/{name}/{${ADMIN_ACTIONS.join(',')}}`);
  }
  if (req.method !== 'POST') return sendError(res, 405, `${req.method} not allowed; use POST`, { allow: 'POST' });
  const auth = checkAdminToken(req, ctx.adminToken);
  if (!auth.ok) return sendError(res, 401, auth.message, { 'www-authenticate': 'Bearer' });
  const entry = ctx.registry.list().find((e) => e.breaker.name === name);
  if (!entry) return sendError(res, 404, `no circuit breaker named ${JSON.stringify(name)}`);
  // An action on a per-target parent is meant for every target it guards.
  const children = ctx.registry.childrenOf(entry.breaker.name);
  const before = entry.breaker.state;
  for (const b of [entry.breaker, ...children.map((c) => c.breaker)]) applyAction(b, action);
  req.resume();
  return sendJson(res, 200, { breaker: name, action, from: before, state: entry.breaker.state, ...(children.length > 0 ? { targets: children.length } : {}) });
}

function applyAction(b: CircuitBreaker, action: AdminAction): void {
  switch (action) {
    case 'open':
      b.forceOpen();
      break;
    case 'close':
      b.close();
      break;
    case 'reset':
      b.reset();
      break;
    case 'disable':
      b.disable();
      break;
    case 'enable':
      b.enable();
      break;
  }
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

import type { Problems } from './problems';
import { ENV_PROMETHEUS_HOST, ENV_PROMETHEUS_PORT } from './schema';

/**
 * The standard OTel Prometheus exporter variables, for the monitoring server. `wanted`
 * says which of them the file left open: a variable the file overrides is not read, so
 * a stale value in the environment cannot break a file that is explicit.
 * An empty value counts as unset (compose files and shells often leave them empty).
 */
export function monitoringFromEnv(
  env: NodeJS.ProcessEnv,
  problems: Problems,
  wanted: { port: boolean; host: boolean },
): { port?: number; host?: string } {
  const out: { port?: number; host?: string } = {};
  const rawPort = wanted.port ? env[ENV_PROMETHEUS_PORT]?.trim() : undefined;
  if (rawPort) {
    const port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : NaN;
    if (port >= 1 && port <= 65535) out.port = port;
    else problems.addEnv(ENV_PROMETHEUS_PORT, env[ENV_PROMETHEUS_PORT], 'a whole number from 1 to 65535');
  }
  const rawHost = wanted.host ? env[ENV_PROMETHEUS_HOST]?.trim() : undefined;
  if (rawHost) {
    if (/\s/.test(rawHost)) problems.addEnv(ENV_PROMETHEUS_HOST, env[ENV_PROMETHEUS_HOST], 'a host name or IP address');
    else out.host = rawHost;
  }
  return out;
}

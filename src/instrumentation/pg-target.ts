/**
 * Per-target breaker keys for pg: `host:port/database`, the server and database a client or
 * pool talks to. Computed once per client or pool and cached (WeakMap, nothing stored on
 * the objects), so a per-target call costs a lookup, not a string build.
 */
import * as path from 'node:path';
import { createRequire } from 'node:module';

/** The connection fields pg's Client computes in its constructor. */
export interface ConnectionFields {
  host?: unknown;
  port?: unknown;
  database?: unknown;
  user?: unknown;
}

/** pg's own ConnectionParameters class: config + PG* environment + pg.defaults, as a Client resolves them. */
export type ConnectionParametersClass = new (config: unknown) => ConnectionFields;

const targets = new WeakMap<object, string>();

export function formatTarget(fields: ConnectionFields): string {
  const db = fields.database ?? fields.user;
  return `${String(fields.host ?? '')}:${String(fields.port ?? '')}/${String(db ?? '')}`;
}

/** Target of a pg Client, from the parameters it resolved when it was constructed. */
export function clientTarget(client: ConnectionFields & object): string {
  let target = targets.get(client);
  if (target === undefined) {
    target = formatTarget(client);
    targets.set(client, target);
  }
  return target;
}

/**
 * Target of a pool: what its clients will resolve from `pool.options`. With pg's
 * ConnectionParameters that is exact (connection strings, PG* variables, defaults); without
 * it (pg-pool used with some other Client), the plain option fields.
 */
export function poolTarget(pool: { options?: unknown } & object, Params: ConnectionParametersClass | null): string {
  let target = targets.get(pool);
  if (target === undefined) {
    const options = (pool.options ?? {}) as ConnectionFields;
    let fields: ConnectionFields = options;
    if (Params !== null) {
      try {
        fields = new Params(options);
      } catch {
        // Invalid options: the pool's own connect will report them; key on what was given.
      }
    }
    target = formatTarget(fields);
    targets.set(pool, target);
  }
  return target;
}

/**
 * pg's ConnectionParameters class, found next to the loaded Client class (the very copy the
 * app uses, not whichever pg resolves from here). Null when it cannot be located, e.g. when
 * pg was bundled.
 */
export function findConnectionParameters(Client: unknown): ConnectionParametersClass | null {
  if (typeof Client !== 'function') return null;
  try {
    for (const mod of Object.values(require.cache)) {
      if (mod === undefined || mod.exports !== Client) continue;
      const Params = createRequire(mod.filename)(path.join(path.dirname(mod.filename), 'connection-parameters.js')) as unknown;
      return typeof Params === 'function' ? (Params as ConnectionParametersClass) : null;
    }
  } catch {
    // Not a layout we know.
  }
  return null;
}

import type pgTypes from 'pg';

type Pg = typeof pgTypes;

/** pg clients and pools made by a test, each ended afterwards whatever happened. */
export interface TrackedPg {
  /** A new `pg.Client`; like an app, it listens for 'error' (a dying server makes connected clients emit it). */
  client(config: Record<string, unknown>): pgTypes.Client;
  /** A new `pg.Pool`, listening for 'error' likewise. */
  pool(config: Record<string, unknown>): pgTypes.Pool;
  /** End every client, then every pool, made so far (ignoring errors) and forget them. */
  endAll(): Promise<void>;
}

/** Tracks what a test makes with `pg()` (read at each call: the instrumented module is loaded in a `before`). */
export function trackPg(pg: () => Pg): TrackedPg {
  const clients: pgTypes.Client[] = [];
  const pools: pgTypes.Pool[] = [];
  return {
    client(config) {
      const c = new (pg().Client)(config);
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    pool(config) {
      const p = new (pg().Pool)(config);
      p.on('error', () => undefined);
      pools.push(p);
      return p;
    },
    async endAll() {
      for (const c of clients.splice(0)) await c.end().catch(() => undefined);
      for (const p of pools.splice(0)) await p.end().catch(() => undefined);
    },
  };
}

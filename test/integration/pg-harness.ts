/**
 * Shared setup for the pg patcher tests: a config, a fresh registry, a BreakerboxInstrumentation
 * and the pg it patched.
 *
 * In one mocha process pg is loaded once. require-in-the-middle's process-wide hook caches a
 * module after the first instrumentation saw it, so a later instrumentation's hook never
 * runs for `require('pg')`. `instrumentPg` then hands the already-loaded exports to the
 * instrumentation's own module definitions, as the hook would have, so `disable()`/`enable()`
 * work the same either way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import type pgTypes from 'pg';
import { parseConfig, type BreakerboxConfig } from '../../src/config';
import { BreakerboxInstrumentation } from '../../src/instrumentation/instrumentation';
import { isWrapped } from '../../src/instrumentation/wrap';
import { BreakerRegistry, type ManagedBreaker } from '../../src/registry';
import { trackPg, type TrackedPg } from '../helpers/pg-tracked';
import { postgresAvailable, requireService } from '../helpers/require-services';
import { startTcpFaultProxy, type TcpFaultProxy } from '../helpers/tcp-fault-proxy';

export type Pg = typeof pgTypes;

export interface PgHarness {
  config: BreakerboxConfig;
  registry: BreakerRegistry;
  instrumentation: BreakerboxInstrumentation;
  pg: Pg;
  /** The `database` breaker's registry entry. */
  entry(): ManagedBreaker;
  /** Whether pg's Client and pg-pool's Pool are patched right now. */
  patched(): boolean;
}

export const SHARED_PG = {
  host: '127.0.0.1',
  port: 5432,
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
};

export function instrumentPg(yaml: string): PgHarness {
  const config = parseConfig(yaml, 'test.yaml');
  const registry = new BreakerRegistry(config);
  const instrumentation = new BreakerboxInstrumentation({ breakerbox: config, registry });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as Pg;
  const poolProto = Object.getPrototypeOf(pg.Pool.prototype) as object;
  const patched = (): boolean => isWrapped(pg.Client.prototype, 'query') && isWrapped(poolProto, 'query');
  for (const def of instrumentation.getModuleDefinitions()) {
    if (def.moduleExports !== undefined || typeof def.patch !== 'function') continue;
    const version = packageVersion(def.name);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    def.moduleExports = require(def.name);
    def.moduleVersion = version;
    def.patch(def.moduleExports, version);
  }
  return { config, registry, instrumentation, pg, patched, entry: () => registry.entry('database') };
}

/** Version of an installed package (some, like pg-pool, do not export their package.json). */
function packageVersion(name: string): string {
  let dir = path.dirname(require.resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Settles after every callback, nextTick and promise job queued so far, plus one macrotask. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Collects unhandled rejections while installed. */
export function watchUnhandled(): { readonly reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    reasons.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  return { reasons, stop: () => process.off('unhandledRejection', onUnhandled) };
}

export { rejectionOf } from '../helpers/rejection';

/** Outcome totals of one breaker, all operations together. */
export function totals(entry: ManagedBreaker): Record<string, number> {
  return entry.stats.totals();
}

/** Counts for one operation name of one breaker, by outcome. */
export function opCounts(entry: ManagedBreaker, operation: string): Record<string, number> {
  const op = entry.stats.operations.find((o) => o.name === operation);
  const names = ['success', 'failure', 'ignored', 'rejected', 'timeout'];
  const out: Record<string, number> = {};
  names.forEach((n, i) => {
    out[n] = op ? op.counts[i] : 0;
  });
  return out;
}

/** A pg harness whose clients reach the shared Postgres through a fault proxy of ours. */
export interface ProxiedPg {
  h: PgHarness;
  proxy: TcpFaultProxy;
}

/**
 * Registers the mocha hooks of a suite that runs pg through a fault proxy: Postgres required,
 * a proxy and a patched pg before, the proxy back to 'pass' and every client/pool ended after
 * each test (then `eachTest`, if given), all undone after. `ready` receives the harness and
 * proxy once they exist; the returned tracker makes the suite's clients and pools.
 */
export function pgThroughProxy(yaml: string, ready: (s: ProxiedPg) => void, eachTest?: (s: ProxiedPg) => void): TrackedPg {
  let s: ProxiedPg | undefined;
  const made = trackPg(() => (s as ProxiedPg).h.pg);
  before(requireService('postgres', postgresAvailable));
  before(async () => {
    const proxy = await startTcpFaultProxy({ targetPort: SHARED_PG.port });
    s = { proxy, h: instrumentPg(yaml) };
    ready(s);
    expect(s.h.patched()).to.equal(true);
  });
  afterEach(async () => {
    if (s === undefined) return;
    await s.proxy.setMode('pass');
    await made.endAll();
    eachTest?.(s);
  });
  after(async () => {
    s?.h.instrumentation.disable();
    await s?.proxy.close();
  });
  return made;
}

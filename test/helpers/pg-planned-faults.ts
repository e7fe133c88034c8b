/**
 * Real pg queries of which chosen ones meet a real network fault: before a query planned to
 * fail, our TCP fault proxy is armed to reset (RST) the client's connection as the query goes
 * out, so pg reports what it does for a dependency that drops connections; that client is then
 * replaced by a new connection. Calls run one at a time, so the armed fault hits only the query
 * it was meant for, and the same plan gives the same failures to every breaker it is run
 * against (what a comparison of thresholds needs).
 */
import type pgTypes from 'pg';
import type { TcpFaultProxy } from './tcp-fault-proxy';

export type PlannedOutcome = 'ok' | 'failed' | 'refused';

export interface PlannedFaultCalls {
  /** One `SELECT 1`; reset by the proxy when `fail`. 'refused': the breaker refused it without I/O. */
  call(fail: boolean): Promise<PlannedOutcome>;
  /** Ends the current client. */
  end(): Promise<void>;
}

export async function plannedFaultCalls(
  pg: typeof pgTypes,
  proxy: TcpFaultProxy,
  config: Record<string, unknown>,
): Promise<PlannedFaultCalls> {
  const connect = async (): Promise<pgTypes.Client> => {
    const c = new pg.Client({ ...config, host: proxy.host, port: proxy.port, connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  // A spare connects in the background, so a reset costs a query, not a connection setup.
  // A spare caught by a fault armed for another query while it connected is simply redone.
  const spareConnection = (): Promise<pgTypes.Client | null> => connect().catch(() => null);
  let client = await connect();
  let spare = spareConnection();
  return {
    async call(fail) {
      if (fail) proxy.resetAfterBytes(0);
      try {
        await client.query('SELECT 1');
        return 'ok';
      } catch (err) {
        if ((err as { code?: string }).code === 'ECIRCUITOPEN') return 'refused';
        return 'failed';
      } finally {
        if (fail) {
          proxy.disarm();
          void client.end().catch(() => undefined);
          client = (await spare) ?? (await connect());
          spare = spareConnection();
        }
      }
    },
    async end() {
      await client.end().catch(() => undefined);
      await (await spare)?.end().catch(() => undefined);
    },
  };
}

/**
 * A ws server's slow-consumer signal is advisory: its breaker records slow server-side sends
 * and never refuses one. Real ws server, a real client that stopped reading, the real
 * monitoring server: health with `?scope=enforced` leaves that breaker out.
 */
import type { Duplex } from 'node:stream';
import { expect } from 'chai';
import { WebSocketServer } from 'ws';
import { createMonitoringServer, type MonitoringServer } from '../../src/server/monitoring-server';
import { freePort } from '../helpers/free-port';
import { guardWs, open, sleep, wsBreakerYaml, type GuardedWs } from '../fixtures/ws/harness';

describe('ws server slow consumers and health scope', function () {
  this.timeout(30_000);
  let g: GuardedWs | undefined;
  let wss: WebSocketServer | undefined;
  let monitoring: MonitoringServer | undefined;

  afterEach(async () => {
    g?.instrumentation.disable();
    for (const c of wss?.clients ?? []) c.terminate();
    if (wss) await new Promise<void>((resolve) => wss!.close(() => resolve()));
    await monitoring?.close();
    g = wss = monitoring = undefined;
  });

  it('turns default health 503 on a slow consumer, and leaves it out of ?scope=enforced, which a readiness probe uses', async () => {
    g = guardWs(
      wsBreakerYaml({
        failure_threshold: 3,
        timeout: '30s',
        max_buffered_amount: 64 * 1024,
        slow_call_duration: '200ms',
        slow_call_rate: 0.5,
        window_size: 10,
        minimum_calls: 4,
      }),
    );
    const port = await freePort();
    wss = new WebSocketServer({ port, host: '127.0.0.1' });
    const slow = (await open(g.WebSocket, `ws://127.0.0.1:${port}/`)) as unknown as { _socket: Duplex; terminate(): void };
    slow._socket.pause();
    await sleep(50);
    const chunk = Buffer.alloc(1024 * 1024, 1);
    for (let i = 0; i < 24; i++) for (const client of wss.clients) client.send(chunk);
    const name = `websocket@server:${port}`;
    expect(g.entry(name).breaker.state).to.equal('open');

    const mport = await freePort();
    monitoring = createMonitoringServer({
      registry: g.registry,
      metricsHandler: null,
      adminToken: undefined,
      host: '127.0.0.1',
      port: mport,
    });
    await monitoring.listen();
    const health = async (
      q = '',
    ): Promise<{ status: number; body: { unhealthy: string[]; breakers: { name: string; advisory: boolean }[] } }> => {
      const res = await fetch(`http://127.0.0.1:${mport}/health/circuit-breakers${q}`);
      return { status: res.status, body: (await res.json()) as never };
    };
    const all = await health();
    expect(all.status).to.equal(503);
    expect(all.body.unhealthy).to.include(name);
    expect(all.body.breakers.find((b) => b.name === name)?.advisory).to.equal(true);
    const enforced = await health('?scope=enforced');
    expect(enforced.status).to.equal(200);
    expect(enforced.body.breakers.map((b) => b.name)).to.not.include(name);
    slow.terminate();
  });
});

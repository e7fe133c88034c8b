import { connect } from 'node:net';
import { isMainThread, threadId } from 'node:worker_threads';
import { applyAdmin, healthReport, statsOf, type BreakerRegistry } from '../registry';
import { fleetSeriesOf, seriesOf } from '../telemetry/series';
import { hubPath, lineReader, type HubAddress, type HubRequest } from './protocol';

/**
 * A cluster worker or worker thread whose breakers are served by the hub (the primary, or
 * the main thread). The connection is unref'd: it never keeps the member alive, and when
 * it cannot be made the member simply goes unserved (its app runs exactly the same).
 * No listener is added to the app's process and nothing goes through its IPC channel.
 */
/** Returns a function that leaves the hub (tests; the connection never holds the process anyway). */
export function joinHub(registry: BreakerRegistry, hub: HubAddress, attempt = 0): () => void {
  const socket = connect(hubPath(hub.socketId));
  socket.unref();
  socket.setEncoding('utf8');
  let connected = false;
  let left = false;
  let leave = (): void => {
    left = true;
    socket.destroy();
  };
  socket.on('error', () => {
    socket.destroy();
    // The hub may still be starting: try a few more times, never holding the process.
    if (!connected && attempt < 20 && !left) setTimeout(() => (leave = joinHub(registry, hub, attempt + 1)), 100).unref();
  });
  socket.on('connect', () => {
    connected = true;
    socket.write(
      JSON.stringify({ hello: { token: hub.token, kind: isMainThread ? 'process' : 'thread', pid: process.pid, threadId } }) + '\n',
    );
  });
  socket.on(
    'data',
    lineReader((msg) => {
      const req = msg as HubRequest;
      if (typeof req?.id !== 'number') return;
      let reply: object;
      if (req.op === 'collect') {
        reply = {
          series: seriesOf(registry),
          fleet: fleetSeriesOf(registry),
          health: healthReport(registry, req.scope).breakers,
          stats: registry.list().map((e) => statsOf(e, registry)),
        };
      } else if (req.op === 'admin') {
        reply = applyAdmin(registry, req.name, req.action);
      } else return;
      socket.write(JSON.stringify({ id: req.id, ...reply }) + '\n');
    }),
  );
  return () => leave();
}

/**
 * An ES-module app (`import WebSocket from 'ws'`) started with
 * `node --import breakerbox/register`: the built register file installs the ESM hooks and
 * the patch, so the app's connects to a killed server trip the breaker and the next one is
 * refused without a socket. Runs against dist/: `npm run build` first (`npm test` does).
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { spawnNode } from '../helpers/child-process';
import { freePort } from '../helpers/free-port';
import { startWsServer, type WsServerPeer } from '../helpers/ws-peers';

const REPO = path.resolve(__dirname, '../..');
const REGISTER = path.join(REPO, 'dist', 'register.mjs');
const BUILT_PATCHER = path.join(REPO, 'dist', 'instrumentation', 'ws.js');
const SOURCE_PATCHER = path.join(REPO, 'src', 'instrumentation', 'ws.ts');

/** The monitoring server starts listening asynchronously, next to the app. */
async function getWhenListening(url: string): Promise<Response> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return await fetch(url);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('ws patcher: an ES-module app under --import breakerbox/register', function () {
  this.timeout(60_000);
  let dir: string;
  let server: WsServerPeer;

  before(async function () {
    // A stale build would test old code and pass or fail for the wrong reason.
    const built = fs.existsSync(REGISTER) && fs.existsSync(BUILT_PATCHER) ? fs.statSync(BUILT_PATCHER).mtimeMs : 0;
    if (built < fs.statSync(SOURCE_PATCHER).mtimeMs) {
      throw new Error('dist/ is missing or older than src/instrumentation/ws.ts: run `npm run build` first');
    }
    dir = fs.mkdtempSync(path.join(tmpdir(), 'breakerbox-ws-esm-'));
    server = await startWsServer();
  });

  after(async () => {
    await server?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trips on a killed server and refuses the next connect without a socket', async () => {
    const monitoringPort = await freePort();
    const config = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(
      config,
      [
        'circuit_breakers:',
        '  websocket:',
        '    failure_threshold: 3',
        '    timeout: 30',
        '  monitoring:',
        `    port: ${monitoringPort}`,
        '    host: 127.0.0.1',
        '    log_level: silent',
        '',
      ].join('\n'),
    );
    await server.stop();

    const app = spawnNode(['--import', REGISTER, 'test/fixtures/ws/esm-app.mjs'], {
      cwd: REPO,
      env: { BREAKERBOX_CONFIG: config, PEER_URL: server.url, BBX_THRESHOLD: '3' },
    });
    try {
      const tripped = JSON.parse(await app.waitForLine(/"phase":"tripped"/, 20_000)) as Record<string, unknown>;
      expect(tripped).to.deep.include({ sameClass: true, serverExported: true, patched: true });
      expect(tripped.failures).to.deep.equal(
        Array.from({ length: 3 }, () => ({
          events: ['error:ECONNREFUSED', 'close:1006'],
          sync: false,
          isWebSocket: true,
        })),
      );

      const child = `websocket@ws://127.0.0.1:${server.port}`;
      const health = await getWhenListening(`http://127.0.0.1:${monitoringPort}/health/circuit-breakers/${encodeURIComponent(child)}`);
      expect(health.status).to.equal(503);
      expect((await health.json()) as Record<string, unknown>).to.deep.include({ state: 'open' });

      await server.start();
      const accepted = server.accepted;
      app.child.kill('SIGUSR2');
      const done = JSON.parse(await app.waitForLine(/"phase":"done"/, 20_000)) as { refused: Record<string, unknown> };
      expect(done.refused).to.deep.equal({
        events: ['error:ECIRCUITOPEN', 'close:1006'],
        sync: false,
        breaker: child,
        isWebSocket: true,
      });
      expect(server.accepted).to.equal(accepted);
      const r = await app.exited;
      expect(r.code, r.stderr).to.equal(0);
    } finally {
      await app.kill();
    }
  });
});

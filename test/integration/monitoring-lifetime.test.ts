/**
 * The monitoring server must never be what keeps a finished app running: scrapers that
 * hold keep-alive connections, idle TCP connections and half-sent requests included.
 * Real child processes with the preload, real sockets. Needs `npm run build` first.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { cleanEnv, spawnNode } from '../helpers/child-process';
import { freePort, LOOPBACK } from '../helpers/free-port';

const REPO = path.resolve(__dirname, '..', '..');
const APP = path.join(REPO, 'test', 'fixtures', 'apps', 'ends-soon.js');
const REGISTER = path.join(REPO, 'dist', 'register.js');

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, LOOPBACK, () => resolve(s));
    s.once('error', reject);
  });
}

describe('monitoring server and the app lifetime', function () {
  this.timeout(60_000);
  let dir: string;
  const sockets: net.Socket[] = [];
  let agent: http.Agent | null = null;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-lifetime-'));
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.destroy();
    agent?.destroy();
    agent = null;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets the app exit when its work ends while a scraper, an idle connection and a half-sent request are still open', async () => {
    const port = await freePort();
    const config = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(config, `circuit_breakers:\n  monitoring:\n    port: ${port}\n    host: ${LOOPBACK}\n`);
    const app = spawnNode(['--require', REGISTER, APP], {
      env: cleanEnv({ BREAKERBOX_CONFIG: config, MONITORING_PORT: String(port), WORK_MS: '1500' }),
      // Node's own defaults would hold the process 60 s (headers) to 300 s (request).
      timeoutMs: 20_000,
    });
    await app.waitForLine('ready');

    // A scraper with a keep-alive agent: its connection stays open after the answer.
    const scraper = new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000 });
    agent = scraper;
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: LOOPBACK, port, path: '/metrics', agent: scraper }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
    expect(status).to.equal(200);
    // A connection that never sends anything, and a client that stops mid-headers.
    sockets.push(await connect(port));
    const slow = await connect(port);
    sockets.push(slow);
    slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');

    const result = await app.exited;
    expect(result.timedOut, `still running 20 s after its work ended\n${result.stderr}`).to.equal(false);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('done');
  });
});

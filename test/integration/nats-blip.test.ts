/**
 * A NATS blip is not an outage: nats.js rides out a server restart or a cluster failover by
 * itself (it redials and buffers publishes meanwhile), and while the breaker is closed the app
 * must see exactly what plain nats gives it. Only an outage that outlasts what the client
 * rides out (`reconnect_failures` failed reconnect attempts) opens the breaker, and the
 * reconnect that ends it closes the breaker again at once, with or without app traffic.
 *
 * Real private nats-servers, killed and restarted; the client keeps nats.js's own reconnect
 * defaults (2 s between attempts) unless a test says otherwise.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { isUnhealthy } from '../../src/registry/health';
import { spawnNode, type NodeProcess } from '../helpers/child-process';
import { freePort } from '../helpers/free-port';
import { requireNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';
import { eventually, instrumentNats, nextStatus, type Nats, type NatsHarness } from '../fixtures/nats/harness';

const RESTART_MS = 1_500;
const EVERY_MS = 20;

const SEED_NATS = `
circuit_breakers:
  nats:
    failure_threshold: 2
    timeout: 10
    operations: [connect, publish, request, flush, subscribe]
`;

/** What an app publishing every 20 ms across a server restart observes. */
interface RestartRun {
  ok: number;
  thrown: string[];
  received: number;
  /** Published after the client said `reconnect`, and how many of those arrived. */
  sentAfter: number;
  receivedAfter: number;
  /** What an unguarded `nc.publish` in the app's status handler threw, by event. */
  handlerThrew: string[];
  /** Codes of the flushes (one every 10th publish) that rejected, without repeats. */
  flushErrors: string[];
}

/**
 * Publishes every 20 ms on one connection (whose own subscription counts what arrives),
 * flushing every 10th time,
 * restarts the server in the middle (killed, back after RESTART_MS), and keeps publishing
 * for a second after the client reconnected. The app's status handler publishes too,
 * without a try/catch, as apps do.
 */
async function publishAcrossRestart(nats: Nats, srv: PrivateNats): Promise<RestartRun> {
  const nc = await nats.connect({ servers: srv.url });
  const run: RestartRun = { ok: 0, thrown: [], received: 0, sentAfter: 0, receivedAfter: 0, handlerThrew: [], flushErrors: [] };
  const flushErrors = new Set<string>();
  let reconnected = false;
  nc.subscribe('blip.>', {
    callback: (_err, msg) => {
      run.received++;
      if (msg.subject === 'blip.after') run.receivedAfter++;
    },
  });
  void nextStatus(nc, 'reconnect').then(
    () => {
      reconnected = true;
    },
    () => undefined,
  );
  // A status iterator does not end when the connection closes: never awaited.
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') nc.publish('status.seen', s.type);
    }
  })().catch((err: { code?: string }) => run.handlerThrew.push(String(err.code)));
  await nc.flush();

  let publishing = true;
  const flushes: Promise<unknown>[] = [];
  const loop = (async () => {
    for (let n = 0; publishing; n++) {
      if (n % 10 === 0) flushes.push(nc.flush().catch((err: { code?: string }) => flushErrors.add(String(err.code))));
      const after = reconnected;
      try {
        nc.publish(after ? 'blip.after' : 'blip.before', 'x');
        run.ok++;
        if (after) run.sentAfter++;
      } catch (err) {
        run.thrown.push(String((err as { code?: string }).code));
      }
      await sleep(EVERY_MS);
    }
  })();

  await sleep(300);
  await srv.kill();
  await sleep(RESTART_MS);
  await srv.start();
  await eventually('the client to reconnect', () => reconnected, 15_000);
  await sleep(1_000);
  publishing = false;
  await loop;
  await Promise.all(flushes);
  run.flushErrors = [...flushErrors].sort();
  await nc.flush();
  await sleep(200);
  await nc.close();
  return run;
}

describe('nats patcher: a server restart the client rides out is not an outage', function () {
  this.timeout(60_000);
  let h: NatsHarness | undefined;
  let srv: PrivateNats | undefined;

  before(function () {
    requireNatsServer(this);
  });
  afterEach(async () => {
    h?.instrumentation.disable();
    h = undefined;
    await srv?.cleanup();
  });

  it("publishing every 20 ms across a 1.5 s restart: same ok/thrown/received as plain nats, no throw in the app's status handler, breaker closed", async () => {
    srv = await startPrivateNats();
    // No fallback: what the app sees is the publish itself (the fallback case is the cluster test's).
    h = instrumentNats(SEED_NATS);

    h.instrumentation.disable();
    const plain = await publishAcrossRestart(h.nats, srv);
    h.instrumentation.enable();
    expect(h.patched()).to.equal(true);
    const guarded = await publishAcrossRestart(h.nats, srv);

    // The scenario is what the issue describes: plain nats throws nothing and delivers.
    expect(plain.thrown).to.deep.equal([]);
    expect(plain.ok).to.be.greaterThan(100);
    expect(plain.received).to.be.greaterThan(0);

    expect(guarded.thrown).to.deep.equal([]);
    // Flushes lost to the restart fail as plain nats fails them (DISCONNECT), never refused.
    expect(guarded.flushErrors).to.deep.equal(plain.flushErrors);
    expect(guarded.handlerThrew).to.deep.equal([]);
    expect(plain.handlerThrew).to.deep.equal([]);
    expect(h.transitions()).to.deep.equal(['closed']);
    // Every publish made once the client was back arrives, as with plain nats.
    expect(plain.receivedAfter).to.equal(plain.sentAfter);
    expect(guarded.receivedAfter).to.equal(guarded.sentAfter);
    // What nats.js buffered during the restart is delivered as plain nats delivers it: the
    // same share of the messages, give or take the timing of one dial attempt.
    const share = (r: RestartRun): number => r.received / r.ok;
    expect(share(guarded)).to.be.closeTo(share(plain), 0.15);
    // The reconnect is on record.
    expect(h.counts('connection').success).to.equal(1);
  });

  it('a publish made while the client fails over to the other cluster node reaches the subscriber there, with the fallback registered and the breaker closed', async () => {
    const [routeA, routeB] = [await freePort(), await freePort()];
    const cluster = (own: number, other: number): string[] => [
      '--cluster_name',
      'breakerbox',
      '--cluster',
      `nats://127.0.0.1:${own}`,
      '--routes',
      `nats://127.0.0.1:${other}`,
    ];
    const a = await startPrivateNats({ args: cluster(routeA, routeB) });
    const b = await startPrivateNats({ args: cluster(routeB, routeA) });
    srv = a;
    try {
      h = instrumentNats(SEED_NATS);
      // The README's fallback: publishes only, broadcast locally (here: noted).
      const diverted: unknown[] = [];
      h.registry.get('nats', {
        fallback: {
          publish: (...args: unknown[]) => {
            diverted.push(args);
          },
        },
      });

      h.instrumentation.disable();
      const plain = await failover(h.nats, a, b);
      await a.start();
      h.instrumentation.enable();
      const guarded = await failover(h.nats, a, b);

      expect(plain).to.deep.equal({ thrown: [], delivered: true });
      expect(guarded).to.deep.equal({ thrown: [], delivered: true });
      expect(diverted).to.deep.equal([]);
      expect(h.entry().breaker.state).to.equal('closed');
      expect(h.transitions()).to.deep.equal(['closed']);
    } finally {
      await b.cleanup();
    }
  });

  it('opens once the outage outlasts reconnect_failures attempts, and closes on the reconnect without waiting for traffic (subscribe-only app)', async () => {
    srv = await startPrivateNats();
    h = instrumentNats(`
circuit_breakers:
  nats:
    failure_threshold: 1
    timeout: 60
    reconnect_failures: 2
`);
    const nc = await h.nats.connect({ servers: srv.url, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
    const got: string[] = [];
    const sub = nc.subscribe('feed.>', { callback: (_err, msg) => got.push(msg.string()) });
    try {
      await nc.flush();
      const disconnected = nextStatus(nc, 'disconnect');
      await srv.kill();
      await disconnected;
      await eventually('the breaker to open after two failed reconnect attempts', () => h!.entry().breaker.state === 'open');
      expect(isUnhealthy(h.entry().breaker.state)).to.equal(true);
      expect(h.entry().breaker.lastTransition?.reason).to.equal('reconnect_failures');
      expect(h.counts('connection').failure).to.be.at.least(2);

      const reconnected = nextStatus(nc, 'reconnect');
      await srv.start();
      await reconnected;
      // No app call is made: the reconnect itself half-opens the breaker and its probe closes
      // it, long before the 60 s reset timeout.
      await eventually('the breaker to close after the reconnect', () => h!.entry().breaker.state === 'closed', 5_000);
      expect(isUnhealthy(h.entry().breaker.state)).to.equal(false);
      expect(h.transitions()).to.deep.equal(['closed', 'open', 'half_open', 'closed']);
      expect(h.entry().breaker.lastTransition?.reason).to.equal('trial_succeeded');

      // The subscription receives again.
      const publisher = await h.nats.connect({ servers: srv.url });
      publisher.publish('feed.x', 'after the restart');
      await publisher.flush();
      await publisher.close();
      await eventually('the subscription to receive again', () => got.includes('after the restart'));
    } finally {
      sub.unsubscribe();
      await nc.close();
    }
  });
});

/**
 * One client on node A (B also listed), a subscriber on node B; A is killed and the app's
 * status handler publishes when the client reports it is dialing again (`reconnecting`):
 * the client is disconnected, and nats.js keeps what is published from then on for the
 * server it is dialing.
 */
async function failover(nats: Nats, a: PrivateNats, b: PrivateNats): Promise<{ thrown: string[]; delivered: boolean }> {
  const subscriber = await nats.connect({ servers: b.url });
  const nc: NatsConnection = await nats.connect({ servers: [a.url, b.url], noRandomize: true });
  const got: string[] = [];
  const thrown: string[] = [];
  try {
    subscriber.subscribe('failover.>', { callback: (_err, msg) => got.push(msg.string()) });
    await subscriber.flush();
    // The route between the nodes carries the subscriber's interest once it is up.
    await eventually(
      'the route between the nodes',
      async () => {
        nc.publish('failover.ready', 'ready');
        await nc.flush();
        await sleep(50);
        return got.includes('ready');
      },
      15_000,
    );

    const published = (async () => {
      for await (const s of nc.status()) {
        if (s.type !== 'reconnecting') continue;
        try {
          nc.publish('failover.during', 'during');
        } catch (err) {
          thrown.push(String((err as { code?: string }).code));
        }
        return;
      }
    })();
    const reconnected = nextStatus(nc, 'reconnect');
    await a.kill();
    await published;
    await reconnected;
    await nc.flush();
    const delivered = await eventually('the message to reach node B', () => got.includes('during'), 5_000).catch(() => false);
    return { thrown, delivered };
  } finally {
    await nc.close();
    await subscriber.close();
  }
}

describe('nats patcher: a subscribe-only app under --require breakerbox/register', function () {
  this.timeout(60_000);
  const ROOT = path.resolve(__dirname, '..', '..');
  const REGISTER = path.join(ROOT, 'dist', 'register.js');
  const APP = path.join(ROOT, 'test', 'fixtures', 'nats', 'subscribe-only.js');
  let srv: PrivateNats | undefined;
  let app: NodeProcess | undefined;
  let dir: string | undefined;

  before(function () {
    requireNatsServer(this);
    if (!fs.existsSync(REGISTER)) throw new Error(`${REGISTER} is missing: run \`npm run build\` first`);
  });
  after(async () => {
    await app?.kill();
    await srv?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('health says 503 during the outage and 200 once the server is back, though the app never makes a guarded call', async () => {
    srv = await startPrivateNats();
    const port = await freePort();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-nats-sub-'));
    const config = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(
      config,
      `
circuit_breakers:
  nats:
    failure_threshold: 1
    timeout: 60
  monitoring:
    port: ${port}
    host: 127.0.0.1
    log_level: warn
`,
    );
    app = spawnNode(['--require', REGISTER, APP], { cwd: dir, env: { BREAKERBOX_CONFIG: config, NATS_URL: srv.url } });
    await app.waitForLine(/"event":"connected"/, 15_000);
    const health = async (): Promise<number> => (await fetch(`http://127.0.0.1:${port}/health/circuit-breakers/nats`)).status;
    expect(await health()).to.equal(200);

    await srv.kill();
    await app.waitForLine(/"event":"disconnect"/, 15_000);
    await eventually('health 503 once the reconnect attempts failed', async () => (await health()) === 503, 15_000);

    await srv.start();
    await app.waitForLine(/"event":"reconnect"/, 15_000);
    // Well before the 60 s reset timeout, with no call from the app.
    await eventually('health 200 after the reconnect', async () => (await health()) === 200, 5_000);
    const publisher = await natsConnect({ servers: srv.url });
    publisher.publish('feed.x', 'after the restart');
    await publisher.flush();
    await publisher.close();
    await app.waitForLine(/"data":"after the restart"/, 5_000);
  });
});

import { createConnection } from 'node:net';
import { expect } from 'chai';
import { connect, type NatsConnection } from 'nats';
import { isNatsFailure } from '../../src/classify/nats';
import { requireNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';

/** Resolves on the next status event of `type`, through the test's own iterator. */
async function nextStatus(nc: NatsConnection, type: string): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === type) return;
  }
  throw new Error(`connection closed before a ${type} event`);
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('test helper: private nats-server', function () {
  this.timeout(30_000);
  const servers: PrivateNats[] = [];
  const connections: NatsConnection[] = [];

  before(function () {
    requireNatsServer(this);
  });

  afterEach(async () => {
    await Promise.allSettled(connections.splice(0).map((nc) => nc.close()));
    await Promise.allSettled(servers.splice(0).map((s) => s.cleanup()));
  });

  async function server(opts?: Parameters<typeof startPrivateNats>[0]): Promise<PrivateNats> {
    const s = await startPrivateNats(opts);
    servers.push(s);
    return s;
  }

  async function client(url: string, opts: Record<string, unknown> = {}): Promise<NatsConnection> {
    const nc = await connect({ servers: url, ...opts });
    connections.push(nc);
    return nc;
  }

  it('serves real clients on a loopback port of its own, never the shared :4222', async () => {
    const srv = await server();
    expect(srv.port).to.not.equal(4222);
    expect(srv.url).to.equal(`nats://127.0.0.1:${srv.port}`);
    expect(srv.running).to.equal(true);
    const nc = await client(srv.url);
    const sub = nc.subscribe('greet', { max: 1 });
    nc.publish('greet', 'hello');
    for await (const m of sub) expect(m.string()).to.equal('hello');
  });

  it('kill drops clients; start brings the same port back and clients reconnect', async () => {
    const srv = await server();
    const nc = await client(srv.url, { reconnectTimeWait: 100, maxReconnectAttempts: -1 });
    const disconnected = nextStatus(nc, 'disconnect');
    await srv.kill();
    await disconnected;
    expect(srv.running).to.equal(false);
    expect(await portAccepts(srv.port)).to.equal(false);

    const reconnected = nextStatus(nc, 'reconnect');
    await srv.start();
    await reconnected;
    expect(srv.running).to.equal(true);
    await nc.flush();
  });

  it('restart() stops gracefully and listens again on the same port', async () => {
    const srv = await server();
    const port = srv.port;
    const pid = srv.pid;
    await srv.restart();
    expect(srv.port).to.equal(port);
    expect(srv.pid).to.not.equal(pid);
    const nc = await client(srv.url);
    await nc.flush();
  });

  it('a request in flight when the server dies fails with an error counted as a failure', async () => {
    const srv = await server();
    const responder = await client(srv.url);
    responder.subscribe('slow', { callback: () => undefined });
    await responder.flush();
    const nc = await client(srv.url, { reconnectTimeWait: 100 });
    const pending = rejection(nc.request('slow', 'x', { timeout: 500 }));
    await srv.kill();
    const err = await pending;
    expect(err.code).to.equal('TIMEOUT');
    expect(isNatsFailure(err)).to.equal(true);

    const refused = await rejection(connect({ servers: srv.url, reconnect: false }));
    expect(refused.code).to.equal('CONNECTION_REFUSED');
    expect(isNatsFailure(refused)).to.equal(true);
  });

  it('starts with JetStream when asked, and without it by default', async () => {
    const js = await server({ jetstream: true });
    const jsm = await (await client(js.url)).jetstreamManager();
    await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
    expect((await jsm.streams.info('ORDERS')).config.name).to.equal('ORDERS');

    const plain = await server();
    const err = await rejection((await client(plain.url)).jetstreamManager());
    expect(err.code).to.equal('503');
    expect(isNatsFailure(err)).to.equal(false);
  });

  it('applies a configuration file given as text (users and permissions)', async () => {
    const srv = await server({
      config: `authorization { users = [ { user: "app", password: "pw", permissions: { publish: { deny: ["forbidden.>"] } } } ] }`,
    });
    const denied = await rejection(connect({ servers: srv.url, reconnect: false }));
    expect(denied.code).to.equal('AUTHORIZATION_VIOLATION');

    const nc = await client(srv.url, { user: 'app', pass: 'pw' });
    const err = await rejection(nc.request('forbidden.x', 'x', { timeout: 2000 }));
    expect(err.code).to.equal('PERMISSIONS_VIOLATION');
    expect(isNatsFailure(err)).to.equal(false);
  });

  it('cleanup() ends the process, frees the port and can be called twice', async () => {
    const srv = await startPrivateNats();
    const pid = srv.pid!;
    await srv.cleanup();
    await srv.cleanup();
    expect(srv.running).to.equal(false);
    expect(() => process.kill(pid, 0))
      .to.throw()
      .with.property('code', 'ESRCH');
    expect(await portAccepts(srv.port)).to.equal(false);
    let startError: unknown;
    await srv.start().catch((e: unknown) => (startError = e));
    expect(startError).to.be.instanceOf(Error);
  });

  it('reports a server that cannot start, with its log', async () => {
    const err = await rejection(startPrivateNats({ config: 'this is { not a valid config', startTimeoutMs: 3000 }));
    expect(err.message).to.match(/did not start/);
  });
});

import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import pg from 'pg';
import { freePort } from '../helpers/free-port';
import { postgresAvailable, requireService } from '../helpers/require-services';
import { rejectionOf } from '../helpers/rejection';
import { startTcpFaultProxy, type TcpFaultProxy } from '../helpers/tcp-fault-proxy';

const SHARED = {
  host: '127.0.0.1',
  port: 5432,
  user: process.env.PGUSER ?? 'postgres',
  database: process.env.PGDATABASE ?? 'test',
};

/** Clients and pools made in a test, ended afterwards whatever happened. */
const toEnd: Array<{ end(): Promise<void> }> = [];

function client(proxy: TcpFaultProxy, extra: pg.ClientConfig = {}): { client: pg.Client; errors: Error[] } {
  const c = new pg.Client({ ...SHARED, host: proxy.host, port: proxy.port, ...extra });
  const errors: Error[] = [];
  c.on('error', (err) => errors.push(err));
  toEnd.push(c);
  return { client: c, errors };
}

/** Raw TCP connect: resolves 'connected' or the error code. */
function tcpConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe('test helper: tcp-fault-proxy (in front of the shared Postgres)', function () {
  before(requireService('postgres', postgresAvailable));

  let proxy: TcpFaultProxy;

  beforeEach(async () => {
    proxy = await startTcpFaultProxy({ targetPort: SHARED.port });
  });

  afterEach(async () => {
    await Promise.all(toEnd.splice(0).map((c) => c.end().catch(() => undefined)));
    await proxy.close();
  });

  it("'pass' carries a real pg session and counts the connection on both sides", async () => {
    const { client: c } = client(proxy);
    await c.connect();
    const { rows } = await c.query('SELECT 41 + 1 AS answer');
    expect(rows).to.deep.equal([{ answer: 42 }]);
    expect(proxy.accepted).to.equal(1);
    expect(proxy.upstreamConnects).to.equal(1);
    expect(proxy.activeConnections).to.equal(1);
  });

  it("'refuse' makes connects fail with ECONNREFUSED without accepting, and 'pass' listens again on the same port", async () => {
    const port = proxy.port;
    await proxy.setMode('refuse');
    const err = await rejectionOf(client(proxy).client.connect());
    expect(err.code).to.equal('ECONNREFUSED');
    expect(proxy.accepted).to.equal(0);

    await proxy.setMode('pass');
    expect(proxy.port).to.equal(port);
    const { client: c } = client(proxy);
    await c.connect();
    expect((await c.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
  });

  it("'refuse' leaves open connections alone", async () => {
    const { client: c } = client(proxy);
    await c.connect();
    await proxy.setMode('refuse');
    expect((await c.query('SELECT 2 AS two')).rows).to.deep.equal([{ two: 2 }]);
  });

  it("can start in 'refuse' mode with a port already assigned", async () => {
    const refused = await startTcpFaultProxy({ targetPort: SHARED.port, mode: 'refuse' });
    try {
      expect(refused.port).to.be.greaterThan(0);
      expect(await tcpConnect(refused.port)).to.equal('ECONNREFUSED');
      await refused.setMode('pass');
      expect(await tcpConnect(refused.port)).to.equal('connected');
    } finally {
      await refused.close();
    }
  });

  it("'blackhole' accepts but never answers: a Client's connect times out ('timeout expired')", async () => {
    await proxy.setMode('blackhole');
    const err = await rejectionOf(client(proxy, { connectionTimeoutMillis: 200 }).client.connect());
    expect(err.message).to.equal('timeout expired');
    expect(proxy.accepted).to.equal(1);
    expect(proxy.upstreamConnects).to.equal(0);
  });

  it("'blackhole' makes a pool's connect time out ('Connection terminated due to connection timeout')", async () => {
    await proxy.setMode('blackhole');
    const pool = new pg.Pool({ ...SHARED, host: proxy.host, port: proxy.port, connectionTimeoutMillis: 200 });
    toEnd.push(pool);
    const err = await rejectionOf(pool.query('SELECT 1'));
    expect(err.message).to.equal('Connection terminated due to connection timeout');
    expect((err.cause as Error).message).to.equal('Connection terminated unexpectedly');
  });

  it("'blackhole' stalls an open connection; 'pass' delivers what was held back", async () => {
    const { client: c } = client(proxy);
    await c.connect();
    await proxy.setMode('blackhole');
    let settled = false;
    const pending = c.query('SELECT 7 AS seven').finally(() => {
      settled = true;
    });
    await sleep(300);
    expect(settled, 'answered while black-holed').to.equal(false);
    await proxy.setMode('pass');
    expect((await pending).rows).to.deep.equal([{ seven: 7 }]);
  });

  it("a connection accepted during 'blackhole' reaches the server once back to 'pass'", async () => {
    await proxy.setMode('blackhole');
    const { client: c } = client(proxy);
    const connecting = c.connect();
    await sleep(200);
    expect(proxy.upstreamConnects).to.equal(0);
    await proxy.setMode('pass');
    await connecting;
    expect((await c.query('SELECT 3 AS three')).rows).to.deep.equal([{ three: 3 }]);
  });

  it("'reset' resets open connections (an idle client emits ECONNRESET) and every new one", async () => {
    const { client: c, errors } = client(proxy);
    await c.connect();
    await proxy.setMode('reset');
    await sleep(100);
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code ?? e.message)).to.include('ECONNRESET');

    const accepted = proxy.accepted;
    const err = await rejectionOf(client(proxy).client.connect());
    expect(err.code).to.equal('ECONNRESET');
    expect(proxy.accepted).to.equal(accepted + 1);
    expect(proxy.activeConnections).to.equal(0);
  });

  it('resetAfterBytes(0) resets the connection when the client sends its next query', async () => {
    const { client: c } = client(proxy);
    await c.connect();
    proxy.resetAfterBytes(0);
    const err = await rejectionOf(c.query('SELECT 1'));
    expect(err.code).to.equal('ECONNRESET');
  });

  it('closeAfterBytes(0) closes it cleanly instead: "Connection terminated unexpectedly"', async () => {
    const { client: c } = client(proxy);
    await c.connect();
    proxy.closeAfterBytes(0);
    const err = await rejectionOf(c.query('SELECT 1'));
    expect(err.message).to.equal('Connection terminated unexpectedly');
  });

  it("resetAfterBytes(n, 'downstream') cuts a large result in the middle", async () => {
    const { client: c } = client(proxy);
    await c.connect();
    proxy.resetAfterBytes(50_000, 'downstream');
    const err = await rejectionOf(c.query("SELECT repeat('x', 1000000) AS big"));
    // An RST that lands while the client still has unread bytes is sometimes reported to it
    // as a plain end of stream; both are what an app sees when a server dies mid-result.
    expect(err.code ?? err.message).to.be.oneOf(['ECONNRESET', 'Connection terminated unexpectedly']);
  });

  it('an armed fault applies to new connections too, until setMode() disarms it', async () => {
    proxy.resetAfterBytes(0);
    const err = await rejectionOf(client(proxy).client.connect());
    expect(err.code ?? err.message).to.be.oneOf(['ECONNRESET', 'Connection terminated unexpectedly']);
    await proxy.setMode('pass');
    const { client: c } = client(proxy);
    await c.connect();
    expect((await c.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
  });

  it('disarm() lets traffic through again', async () => {
    const { client: c } = client(proxy);
    await c.connect();
    proxy.resetAfterBytes(0);
    proxy.disarm();
    expect((await c.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
  });

  it('rejects a negative byte budget', () => {
    expect(() => proxy.resetAfterBytes(-1)).to.throw(RangeError);
  });

  it('counts nothing when no client connects', async () => {
    client(proxy); // constructed, never connected
    await sleep(50);
    expect(proxy.accepted).to.equal(0);
    expect(proxy.upstreamConnects).to.equal(0);
  });

  it('shows a target that refuses as a connection that is accepted and then dropped', async () => {
    const down = await startTcpFaultProxy({ targetPort: await freePort() });
    try {
      const c = new pg.Client({ ...SHARED, host: down.host, port: down.port });
      c.on('error', () => undefined);
      const err = await rejectionOf(c.connect());
      expect(err.code ?? err.message).to.be.oneOf(['ECONNRESET', 'Connection terminated unexpectedly']);
      expect(down.accepted).to.equal(1);
    } finally {
      await down.close();
    }
  });

  it('close() drops open connections, stops listening and is idempotent', async () => {
    const { client: c, errors } = client(proxy);
    await c.connect();
    const port = proxy.port;
    await proxy.close();
    await sleep(50);
    expect(errors.map((e) => e.message)).to.include('Connection terminated unexpectedly');
    expect(proxy.activeConnections).to.equal(0);
    expect(await tcpConnect(port)).to.equal('ECONNREFUSED');
    await proxy.close();
    await rejectionOf(proxy.setMode('pass'));
  });
});

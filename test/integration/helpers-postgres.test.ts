import * as fs from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import pg from 'pg';
import { checkService, pgBinariesAvailable } from '../helpers/require-services';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { rejectionOf } from '../helpers/rejection';

const clients: pg.Client[] = [];

async function connect(server: PrivatePostgres, extra: pg.ClientConfig = {}): Promise<pg.Client> {
  const c = newClient(server, extra);
  await c.connect();
  return c;
}

function newClient(server: PrivatePostgres, extra: pg.ClientConfig = {}): pg.Client {
  const c = new pg.Client({ ...server.clientConfig(), connectionTimeoutMillis: 5000, ...extra });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

async function one(server: PrivatePostgres, sql: string): Promise<unknown> {
  const c = await connect(server);
  try {
    return (await c.query(sql)).rows[0];
  } finally {
    await c.end();
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A dead postmaster nobody reaped stays a zombie; it holds no port or files.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return !/^\S+ \(.*\) Z/.test(stat);
}

describe('test helper: private-postgres', function () {
  this.timeout(60_000);
  let server: PrivatePostgres;

  before(async function () {
    await checkService(this, 'postgres server binaries', pgBinariesAvailable);
    server = await startPrivatePostgres({ maxConnections: 4, settings: { application_name: 'breakerbox-helper-test' } });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
    if (server && !server.running) await server.start();
  });

  after(async () => {
    await server?.cleanup();
  });

  it('serves on its own loopback port and unix socket, with the settings asked for', async () => {
    expect(server.host).to.equal('127.0.0.1');
    expect(server.port).to.be.a('number').and.not.equal(5432);
    expect(server.dataDir.startsWith(server.baseDir)).to.equal(true);
    expect(await one(server, 'SHOW max_connections')).to.deep.equal({ max_connections: '4' });
    expect(await one(server, 'SHOW fsync')).to.deep.equal({ fsync: 'off' });
    expect(await one(server, 'SHOW application_name')).to.deep.equal({ application_name: 'breakerbox-helper-test' });
    expect(await one(server, 'SELECT current_user AS u, current_database() AS d')).to.deep.equal({ u: 'postgres', d: 'postgres' });

    const viaSocket = await connect(server, { host: server.socketDir });
    expect((await viaSocket.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
  });

  it('stop() refuses connections (ECONNREFUSED); start() serves the same data on the same port', async () => {
    const port = server.port;
    await one(server, 'CREATE TABLE survives (x int)');
    await one(server, 'INSERT INTO survives VALUES (1)');
    await server.stop();
    expect(server.running).to.equal(false);
    expect(server.postmasterPid()).to.equal(null);
    const err = await rejectionOf(newClient(server).connect());
    expect(err.code).to.equal('ECONNREFUSED');

    await server.start();
    expect(server.port).to.equal(port);
    expect(await one(server, 'SELECT count(*)::int AS n FROM survives')).to.deep.equal({ n: 1 });
  });

  it("stop('fast') ends a running query with 57P01", async () => {
    const c = await connect(server);
    const pending = rejectionOf(c.query('SELECT pg_sleep(10)'));
    await sleep(100);
    await server.stop('fast');
    expect((await pending).code).to.equal('57P01');
  });

  it("stop('immediate') drops a running query's connection", async () => {
    const c = await connect(server);
    const pending = rejectionOf(c.query('SELECT pg_sleep(10)'));
    await sleep(100);
    await server.stop('immediate');
    expect((await pending).message).to.equal('Connection terminated unexpectedly');
  });

  it("stop('smart', { wait: false }) turns new connections away with 57P03 while a session lasts", async () => {
    const holder = await connect(server);
    await server.stop('smart', { wait: false });
    await sleep(200);
    const err = await rejectionOf(newClient(server).connect());
    expect(err.code).to.equal('57P03');
    await holder.end();
    const deadline = Date.now() + 10_000;
    while (server.postmasterPid() !== null && Date.now() < deadline) await sleep(50);
    expect(server.postmasterPid()).to.equal(null);
  });

  it('restart() comes back on the same port', async () => {
    const port = server.port;
    const before = server.postmasterPid();
    await server.restart();
    expect(server.port).to.equal(port);
    expect(server.postmasterPid()).to.be.a('number').and.not.equal(before);
    expect(await one(server, 'SELECT 1 AS one')).to.deep.equal({ one: 1 });
  });

  it('kill() crashes every server process at once; start() recovers', async () => {
    const pid = server.postmasterPid() as number;
    const c = await connect(server);
    const pending = rejectionOf(c.query('SELECT pg_sleep(10)'));
    await sleep(100);
    await server.kill();
    expect((await pending).message).to.equal('Connection terminated unexpectedly');
    expect(isRunning(pid)).to.equal(false);
    expect(server.running).to.equal(false);
    expect((await rejectionOf(newClient(server).connect())).code).to.equal('ECONNREFUSED');

    await server.start();
    expect(await one(server, 'SELECT 1 AS one')).to.deep.equal({ one: 1 });
    expect(server.logTail(50)).to.match(/not properly shut down|automatic recovery/);
  });

  it('maxConnections is exactly how many clients get in; the next gets 53300', async () => {
    for (let i = 0; i < 4; i++) await connect(server);
    const err = await rejectionOf(newClient(server).connect());
    expect(err.code).to.equal('53300');
  });

  it('runs servers side by side, each in its own directory and port', async () => {
    const other = await startPrivatePostgres();
    try {
      expect(other.port).to.not.equal(server.port);
      expect(other.baseDir).to.not.equal(server.baseDir);
      expect(await one(other, 'SHOW max_connections')).to.deep.equal({ max_connections: '20' });
    } finally {
      await other.cleanup();
    }
  });

  it('applies a custom pg_hba.conf (password auth)', async () => {
    const strict = await startPrivatePostgres({
      hba: ['local all all trust', 'host all all 127.0.0.1/32 scram-sha-256'],
    });
    try {
      const viaSocket = new pg.Client({ ...strict.clientConfig(), host: strict.socketDir });
      await viaSocket.connect();
      await viaSocket.query("ALTER ROLE postgres PASSWORD 'secret'");
      await viaSocket.end();
      const wrong = new pg.Client({ ...strict.clientConfig(), password: 'nope' });
      expect((await rejectionOf(wrong.connect())).code).to.equal('28P01');
      const right = new pg.Client({ ...strict.clientConfig(), password: 'secret' });
      await right.connect();
      await right.end();
    } finally {
      await strict.cleanup();
    }
  });

  it('cleanup() stops the server and removes its directory; it can run twice', async () => {
    const temp = await startPrivatePostgres();
    const pid = temp.postmasterPid() as number;
    expect(isRunning(pid)).to.equal(true);
    await temp.cleanup();
    expect(isRunning(pid)).to.equal(false);
    expect(fs.existsSync(temp.baseDir)).to.equal(false);
    await temp.cleanup();
    expect((await rejectionOf(temp.start())).message).to.match(/cleaned up/);
  });

  it('reports a server that cannot start with its log, and leaves nothing behind', async () => {
    const err = await rejectionOf(startPrivatePostgres({ settings: { shared_buffers: 'lots' } }));
    expect(err.message)
      .to.match(/failed to start/)
      .and.match(/shared_buffers/);
    const logPath = /--- (\S+) ---/.exec(err.message)?.[1];
    expect(logPath, 'log path in the message').to.be.a('string');
    expect(fs.existsSync(path.dirname(logPath as string)), 'its temp dir').to.equal(false);
  });
});

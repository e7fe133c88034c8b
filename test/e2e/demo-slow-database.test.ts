/**
 * The demo's "slow database" chaos switch, as a player sees it: the demo game server under
 * `--require dist/register.js` with its own breakerbox.yaml, against a private Postgres (the
 * switch locks the demo's table, which must not slow down other tests using the shared
 * server). The cause is real: a separate client holds an ACCESS EXCLUSIVE lock on
 * demo_players in short bursts, so the demo's queries queue in Postgres behind it.
 *
 * Round trips of a player's moves are printed for the reader. The one timing check is a
 * lower bound (a move queued behind the lock cannot answer before the lock is let go), which
 * a loaded machine cannot make fail.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import WebSocket from 'ws';
import { spawnNode, type NodeProcess } from '../helpers/child-process';
import { REPO_ROOT } from '../helpers/dashboard-queries';
import { eventually } from '../helpers/eventually';
import { freePort, LOOPBACK } from '../helpers/free-port';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { checkService, pgBinariesAvailable } from '../helpers/require-services';

const REGISTER = path.join(REPO_ROOT, 'dist', 'register.js');
const DEMO_SERVER = path.join(REPO_ROOT, 'examples', 'demo', 'server.js');
const DEMO_CONFIG = path.join(REPO_ROOT, 'examples', 'demo', 'breakerbox.yaml');
const KIND = 'slow-database';
/** The lock holder's rhythm (examples/demo/lock-holder.js): the lock held this long, then let go for FREE_MS. */
const LOCK_HOLD_MS = 500;
const LOCK_FREE_MS = 100;
const MOVES = 20;

interface RoomMessage {
  type: 'room';
  room: { id: string; exits: string[] };
}

/** A player of the demo over its WebSocket protocol, one request at a time. */
class Player {
  private readonly inbox: Record<string, unknown>[] = [];
  private waiter: (() => void) | null = null;
  room: RoomMessage['room'] | null = null;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.inbox.push(JSON.parse(String(data)) as Record<string, unknown>);
      this.waiter?.();
    });
  }

  static async connect(url: string): Promise<Player> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new Player(socket);
  }

  /** The next message of one of `types`; errors from the server fail the test. */
  async next(types: string[], timeoutMs = 15_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex((m) => types.includes(String(m.type)) || m.type === 'error');
      if (i >= 0) {
        const [message] = this.inbox.splice(i, 1);
        if (message.type === 'error') throw new Error(`demo answered an error: ${JSON.stringify(message)}`);
        return message;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${types.join('/')} message within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  async login(name: string): Promise<void> {
    this.socket.send(JSON.stringify({ type: 'login', name, password: 'slow-database' }));
    await this.next(['welcome']);
    this.room = ((await this.next(['room'])) as unknown as RoomMessage).room;
  }

  /** Walks through the first exit and returns how long the answer took (the move saves the player in Postgres). */
  async move(): Promise<number> {
    const started = performance.now();
    this.socket.send(JSON.stringify({ type: 'move', direction: this.directionOut() }));
    this.room = ((await this.next(['room'])) as unknown as RoomMessage).room;
    return performance.now() - started;
  }

  private directionOut(): string {
    const exits = this.room?.exits ?? [];
    if (exits.length === 0) throw new Error(`room ${this.room?.id} has no exit`);
    return exits[0];
  }

  close(): void {
    this.socket.terminate();
  }
}

/**
 * A player's walk: MOVES moves, each after a pause of up to one lock cycle, as a person
 * types. Moves sent back to back would fall into step with the lock: after one waited for
 * the release, the rest fit in the short gap before the next burst.
 */
async function walk(player: Player): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < MOVES; i++) {
    await new Promise((resolve) => setTimeout(resolve, Math.random() * (LOCK_HOLD_MS + LOCK_FREE_MS)));
    times.push(await player.move());
  }
  return times;
}

/** Backends of the demo waiting for a lock on demo_players, and the lock holder's ACCESS EXCLUSIVE lock. */
async function lockPicture(observer: Client): Promise<{ waiting: number; exclusiveHeld: number }> {
  const { rows } = await observer.query<{ waiting: number; exclusive_held: number }>(
    `SELECT
       (SELECT count(*)::int FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND query LIKE '%demo_players%' AND pid <> pg_backend_pid()) AS waiting,
       (SELECT count(*)::int FROM pg_locks
         WHERE relation = to_regclass('demo_players') AND mode = 'AccessExclusiveLock' AND granted) AS exclusive_held`,
  );
  return { waiting: rows[0].waiting, exclusiveHeld: rows[0].exclusive_held };
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return `median ${at(0.5).toFixed(1)} ms, p90 ${at(0.9).toFixed(1)} ms, max ${sorted[sorted.length - 1].toFixed(1)} ms`;
}

describe('demo chaos switch: slow database (a lock held in Postgres, not a sleep in JS)', function () {
  this.timeout(120_000);

  let postgres: PrivatePostgres | undefined;
  let observer: Client | undefined;
  let app: NodeProcess | undefined;
  let player: Player | undefined;
  let dir = '';
  let gameUrl = '';
  let wsUrl = '';
  const healthy: number[] = [];

  before(async function () {
    await checkService(this, 'postgres binaries', pgBinariesAvailable);
    if (!existsSync(REGISTER)) throw new Error('dist/register.js is missing: run `npm run build` first (npm test does)');
    postgres = await startPrivatePostgres();
    observer = new Client(postgres.clientConfig());
    await observer.connect();
    dir = mkdtempSync(path.join(os.tmpdir(), 'breakerbox-slowdb-'));
    const gamePort = await freePort();
    app = spawnNode(['--require', REGISTER, DEMO_SERVER], {
      cwd: dir,
      env: {
        BREAKERBOX_CONFIG: DEMO_CONFIG,
        PGHOST: postgres.host,
        PGPORT: String(postgres.port),
        PGUSER: postgres.user,
        PGDATABASE: postgres.database,
        PGPASSWORD: undefined,
        // No NATS needed: chat falls back to local delivery.
        NATS_URL: `nats://${LOOPBACK}:${await freePort()}`,
        DEMO_HTTP_PORT: String(gamePort),
        DEMO_HTTP_HOST: LOOPBACK,
        // Only this test's player: every query on demo_players is one of its moves.
        DEMO_BOTS: '0',
        DEMO_DATA_DIR: undefined,
        OTEL_EXPORTER_PROMETHEUS_PORT: String(await freePort()),
        OTEL_EXPORTER_PROMETHEUS_HOST: LOOPBACK,
        OTEL_TRACES_EXPORTER: undefined,
      },
      timeoutMs: 115_000,
    });
    await app.waitForLine(/game server listening on/, 30_000);
    gameUrl = `http://${LOOPBACK}:${gamePort}`;
    wsUrl = `ws://${LOOPBACK}:${gamePort}/play`;
  });

  after(async () => {
    player?.close();
    await app?.kill('SIGTERM');
    await observer?.end().catch(() => undefined);
    await postgres?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('moves a player through rooms, each move saved in Postgres, while the database is healthy', async () => {
    player = await Player.connect(wsUrl);
    await player.login('slow_db_tester');
    healthy.push(...(await walk(player)));
    process.stdout.write(`      healthy: ${summary(healthy)} per move (${MOVES} moves)\n`);
    expect(await lockPicture(observer!)).to.deep.equal({ waiting: 0, exclusiveHeld: 0 });
  });

  it('turns "slow database" on: the switch shows in /chaos, the moves queue behind the lock in Postgres and answer slower', async () => {
    const res = await fetch(`${gameUrl}/chaos/${KIND}?seconds=90`, { method: 'POST', signal: AbortSignal.timeout(15_000) });
    expect(res.status, await res.clone().text()).to.equal(202);
    expect(await res.json()).to.include({ kind: KIND, seconds: 90 });
    const status = (await (await fetch(`${gameUrl}/chaos`)).json()) as Record<string, number>;
    expect(status).to.have.property(KIND).that.is.above(0);

    // Moves one after another, while another client watches Postgres for a move's save
    // waiting on the lock: the queueing happens in the database, where the lock is.
    let slow: number[] = [];
    let sawQueued = false;
    let watching = true;
    const watcher = (async () => {
      while (watching && !sawQueued) {
        const picture = await lockPicture(observer!);
        if (picture.waiting > 0 && picture.exclusiveHeld > 0) sawQueued = true;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      slow = await walk(player!);
    } finally {
      watching = false;
      await watcher;
    }
    process.stdout.write(`      slow database: ${summary(slow)} per move (${MOVES} moves)\n`);
    expect(sawQueued, "a move's query seen waiting for the lock holder's lock in pg_stat_activity").to.equal(true);
    // A move arriving in the first half of a burst waits at least half a burst for the
    // release; each move has a chance of about 0.4 to, so all 20 missing it is < 1 in 10^4.
    expect(Math.max(...slow), `slowest of ${MOVES} moves, ms`).to.be.at.least(LOCK_HOLD_MS / 2);
  });

  it('turns it off again (DELETE /chaos/slow-database): the lock is gone and nothing waits for it', async () => {
    const res = await fetch(`${gameUrl}/chaos/${KIND}`, { method: 'DELETE', signal: AbortSignal.timeout(15_000) });
    expect(res.status, await res.clone().text()).to.equal(200);
    expect(await res.json()).to.include({ kind: KIND, stopped: true });
    const status = (await (await fetch(`${gameUrl}/chaos`)).json()) as Record<string, number>;
    expect(status).to.not.have.property(KIND);
    await app!.waitForLine(/chaos: slow-database is back/, 5_000);
    // The lock holder's transaction ended with its connection.
    await eventually('the lock holder gone from Postgres', 10_000, async () => {
      const picture = await lockPicture(observer!);
      return picture.exclusiveHeld === 0 ? picture : undefined;
    });
    const after = await walk(player!);
    expect(await lockPicture(observer!)).to.deep.equal({ waiting: 0, exclusiveHeld: 0 });
    process.stdout.write(`      restored: ${summary(after)} per move (${MOVES} moves)\n`);
  });

  it('answers stopped: false for a kind that is not on, and 404 for an unknown kind', async () => {
    const off = await fetch(`${gameUrl}/chaos/${KIND}`, { method: 'DELETE' });
    expect(off.status).to.equal(200);
    expect(await off.json()).to.include({ kind: KIND, stopped: false });
    const unknown = await fetch(`${gameUrl}/chaos/slow-disk`, { method: 'DELETE' });
    expect(unknown.status).to.equal(404);
  });

  it('leaves no lock behind when the demo dies while the database is slow', async () => {
    const res = await fetch(`${gameUrl}/chaos/${KIND}?seconds=90`, { method: 'POST', signal: AbortSignal.timeout(15_000) });
    expect(res.status, await res.clone().text()).to.equal(202);
    await eventually('the lock held again', 10_000, async () => ((await lockPicture(observer!)).exclusiveHeld > 0 ? true : undefined));
    await app!.kill('SIGKILL');
    // The lock holder sees its stdin close and ends its transaction; Postgres frees the lock.
    await eventually('the lock released and the lock holder disconnected after the demo died', 10_000, async () => {
      const { exclusiveHeld } = await lockPicture(observer!);
      const { rows } = await observer!.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'breakerbox-demo-lock-holder'",
      );
      return exclusiveHeld === 0 && rows[0].n === 0 ? true : undefined;
    });
  });
});

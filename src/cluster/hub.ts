import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import {
  lineReader,
  formatHubAddress,
  hubPath,
  HUB_ENV,
  type AdminAction,
  type AdminResult,
  type Collected,
  type HubRequest,
  type MemberMessage,
} from './protocol';
import type { HealthScope } from '../registry';
import type { BreakerSeries } from '../telemetry/series';

/** A member's answer, labelled: `worker` is `1`, `2`... for cluster workers, `thread-1`... for threads. */
export interface MemberAnswer<T> {
  worker: string;
  pid: number;
  answer: T;
}

interface Member {
  socket: Socket;
  worker: string;
  pid: number;
  pending: Map<number, (msg: unknown) => void>;
}

/** How long a scrape or probe waits for a member: a stuck worker must not stall the probe. */
const ANSWER_TIMEOUT_MS = 2_000;

/**
 * The side of the process that owns the monitoring port: cluster workers and worker threads
 * connect to it over a local socket and answer its questions. Slots are reused, so the `worker`
 * label stays within the number of workers alive at once however often they restart.
 */
export class BreakerHub {
  private readonly members = new Set<Member>();
  private readonly token = randomBytes(16).toString('hex');
  private readonly socketId = randomBytes(8).toString('hex');
  private nextId = 1;

  private constructor(private readonly server: Server) {}

  /**
   * Starts listening and publishes the address in the environment that forked workers and
   * new threads inherit, before returning: the app may fork on its very next line. Null
   * when it cannot listen; the process is then served alone.
   */
  static start(): BreakerHub {
    const server = createServer();
    const hub = new BreakerHub(server);
    server.on('connection', (socket) => hub.accept(socket));
    server.on('error', () => hub.close());
    server.unref();
    server.listen(hubPath(hub.socketId));
    process.env[HUB_ENV] = formatHubAddress({ ownerPid: process.pid, socketId: hub.socketId, token: hub.token });
    return hub;
  }

  get size(): number {
    return this.members.size;
  }

  /**
   * Members whose breakers never did anything are left out: Node's module-hooks thread runs
   * the preload too, and a thread or worker with nothing to say should not relabel the series.
   */
  async collect(scope: HealthScope): Promise<MemberAnswer<Collected>[]> {
    const answers = await this.ask<Collected>((id) => ({ id, op: 'collect', scope }));
    return answers.filter((a) => !a.answer.series.every(untouched));
  }

  admin(name: string, action: AdminAction): Promise<MemberAnswer<AdminResult>[]> {
    return this.ask((id) => ({ id, op: 'admin', name, action }));
  }

  close(): void {
    for (const m of this.members) m.socket.destroy();
    if (this.server.listening) this.server.close();
  }

  private async ask<T>(request: (id: number) => HubRequest): Promise<MemberAnswer<T>[]> {
    const asks = [...this.members].map(
      (m) =>
        new Promise<MemberAnswer<T> | null>((resolve) => {
          const id = this.nextId++;
          const timer = setTimeout(() => {
            m.pending.delete(id);
            resolve(null);
          }, ANSWER_TIMEOUT_MS);
          timer.unref();
          m.pending.set(id, (msg) => {
            clearTimeout(timer);
            resolve(msg === null ? null : { worker: m.worker, pid: m.pid, answer: msg as T });
          });
          m.socket.write(JSON.stringify(request(id)) + '\n');
        }),
    );
    const answers = await Promise.all(asks);
    return answers
      .filter((a): a is MemberAnswer<T> => a !== null)
      .sort((a, b) => a.worker.localeCompare(b.worker, 'en', { numeric: true }));
  }

  private accept(socket: Socket): void {
    socket.unref();
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    let member: Member | null = null;
    const leave = (): void => {
      if (member) {
        this.members.delete(member);
        for (const done of member.pending.values()) done(null);
      }
      socket.destroy();
    };
    socket.on('error', leave);
    socket.on('close', leave);
    socket.on(
      'data',
      lineReader((raw) => {
        const msg = raw as MemberMessage;
        if (member === null) {
          const hello = 'hello' in msg ? msg.hello : null;
          if (!hello || hello.token !== this.token) return leave();
          member = { socket, worker: this.slot(hello.kind), pid: hello.pid, pending: new Map() };
          this.members.add(member);
          return;
        }
        if (!('id' in msg)) return;
        const done = member.pending.get(msg.id);
        if (done) {
          member.pending.delete(msg.id);
          done(msg);
        }
      }),
    );
  }

  private slot(kind: 'process' | 'thread'): string {
    const prefix = kind === 'thread' ? 'thread-' : '';
    const taken = new Set([...this.members].map((m) => m.worker));
    let n = 1;
    while (taken.has(`${prefix}${n}`)) n++;
    return `${prefix}${n}`;
  }
}

function untouched(s: BreakerSeries): boolean {
  return (
    s.state === 'closed' &&
    s.transitions.length === 0 &&
    s.fallbacks.success + s.fallbacks.failure === 0 &&
    s.operations.every((op) => op.counts.every((c) => c === 0))
  );
}

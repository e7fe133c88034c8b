/**
 * Produces real errors from the `nats` client against private nats-servers and records
 * them in test/unit/classify/fixtures/nats-errors.json, each with the classification we
 * decided it must get (DESIGN.md §3). The unit tests replay that file, so a new client
 * version that changes an error's shape shows up as a fixture diff, not a silent miss.
 *
 *   npx tsx scripts/capture-nats-errors.ts
 *
 * Needs /usr/sbin/nats-server (or NATS_SERVER_BIN). Never touches the shared server on :4222.
 */
import { execFileSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { connect, JSONCodec, type NatsConnection } from 'nats';
import { freePort } from '../test/helpers/free-port';
import { findNatsServer, startPrivateNats, type PrivateNats } from '../test/helpers/private-nats';
import { captureAll, errorOf, fixturePath, installedVersion, runScript, summarize, writeFixture, type CodeScenario } from './lib/capture';

const FIXTURE = fixturePath('nats-errors.json');

const PERMISSIONS_CONFIG = `
authorization {
  users = [
    { user: "app", password: "app-pw", permissions: { publish: { deny: ["forbidden.>"] }, subscribe: { allow: [">"] } } }
  ]
}
`;

/** The fields of a nats error worth keeping: NatsError wraps socket errors in chainedError. */
const NATS_FIELDS = {
  strings: ['name', 'message', 'syscall', 'address'],
  numbers: ['errno', 'port'],
  values: ['permissionContext', 'api_error'],
  nested: ['chainedError', 'cause'],
  errors: true,
} as const;

/** Resolves on the first status event of `type` (the script's own listener, not an app's). */
async function waitForStatus(nc: NatsConnection, type: string): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === type) return;
  }
}

const servers: PrivateNats[] = [];
const connections: NatsConnection[] = [];
const rawServers: Array<{ srv: Server; sockets: Socket[] }> = [];

async function privateServer(opts?: Parameters<typeof startPrivateNats>[0]): Promise<PrivateNats> {
  const s = await startPrivateNats(opts);
  servers.push(s);
  return s;
}

async function client(url: string, opts: Record<string, unknown> = {}): Promise<NatsConnection> {
  const nc = await connect({ servers: url, ...opts });
  connections.push(nc);
  return nc;
}

/** A TCP server that accepts and never sends INFO: the client's connect times out. */
async function silentServer(): Promise<number> {
  const port = await freePort();
  const sockets: Socket[] = [];
  const srv = createServer((s) => {
    s.on('error', () => undefined);
    sockets.push(s);
  });
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
  rawServers.push({ srv, sockets });
  return port;
}

const scenarios: CodeScenario[] = [
  {
    id: 'connect-refused',
    scenario: 'connect() to a loopback port nothing listens on',
    expectCode: 'CONNECTION_REFUSED',
    failure: true,
    kind: 'connection_refused',
    run: async () => {
      const port = await freePort();
      return errorOf(() => connect({ servers: `nats://127.0.0.1:${port}`, reconnect: false }));
    },
  },
  {
    id: 'connect-timeout',
    scenario: 'connect() to a TCP server that accepts but never sends INFO (timeout: 300)',
    expectCode: 'TIMEOUT',
    failure: true,
    kind: 'timeout',
    run: async () => {
      const port = await silentServer();
      return errorOf(() => connect({ servers: `nats://127.0.0.1:${port}`, timeout: 300, reconnect: false }));
    },
  },
  {
    id: 'request-no-responders',
    scenario: 'request() to a subject nobody subscribes to',
    expectCode: '503',
    failure: false,
    kind: 'no_responders',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      return errorOf(() => nc.request('nobody.listens', 'x', { timeout: 2000 }));
    },
  },
  {
    id: 'request-no-responders-nomux',
    scenario: 'request() with noMux to a subject nobody subscribes to',
    expectCode: '503',
    failure: false,
    kind: 'no_responders',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      return errorOf(() => nc.request('nobody.listens', 'x', { timeout: 2000, noMux: true }));
    },
  },
  {
    id: 'request-timeout',
    scenario: 'request() to a subscriber that never answers (timeout: 200)',
    expectCode: 'TIMEOUT',
    failure: true,
    kind: 'timeout',
    run: async () => {
      const srv = await privateServer();
      const responder = await client(srv.url);
      responder.subscribe('silent.service', { callback: () => undefined });
      await responder.flush();
      const nc = await client(srv.url);
      return errorOf(() => nc.request('silent.service', 'x', { timeout: 200 }));
    },
  },
  {
    id: 'publish-closed',
    scenario: 'publish() on a connection after close()',
    expectCode: 'CONNECTION_CLOSED',
    failure: true,
    kind: 'connection_closed',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      await nc.close();
      return errorOf(() => nc.publish('any.subject', 'x'));
    },
  },
  {
    id: 'request-closed',
    scenario: 'request() on a connection after close()',
    expectCode: 'CONNECTION_CLOSED',
    failure: true,
    kind: 'connection_closed',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      await nc.close();
      return errorOf(() => nc.request('any.subject', 'x'));
    },
  },
  {
    id: 'flush-server-down',
    scenario: 'flush() while the server is down after a SIGKILL (reconnect on): rejected at the next redial',
    expectCode: 'DISCONNECT',
    failure: true,
    kind: 'disconnect',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url, { reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      const disconnected = waitForStatus(nc, 'disconnect');
      await srv.kill();
      await disconnected;
      return errorOf(() => nc.flush());
    },
  },
  {
    id: 'request-server-killed',
    scenario: 'request() in flight when the server is SIGKILLed (reconnect on, timeout: 500)',
    expectCode: 'TIMEOUT',
    failure: true,
    kind: 'timeout',
    run: async () => {
      const srv = await privateServer();
      const responder = await client(srv.url);
      responder.subscribe('slow.service', { callback: () => undefined });
      await responder.flush();
      const nc = await client(srv.url, { reconnectTimeWait: 100, maxReconnectAttempts: -1 });
      const pending = errorOf(() => nc.request('slow.service', 'x', { timeout: 500 }));
      await new Promise((r) => setTimeout(r, 50));
      await srv.kill();
      return pending;
    },
  },
  {
    id: 'request-server-killed-no-reconnect',
    scenario: 'request() in flight when the server is SIGKILLed (reconnect: false): the client closes',
    expectCode: 'TIMEOUT',
    failure: true,
    kind: 'timeout',
    run: async () => {
      const srv = await privateServer();
      const responder = await client(srv.url);
      responder.subscribe('slow.service', { callback: () => undefined });
      await responder.flush();
      const nc = await client(srv.url, { reconnect: false });
      const pending = errorOf(() => nc.request('slow.service', 'x', { timeout: 5000 }));
      await new Promise((r) => setTimeout(r, 50));
      await srv.kill();
      return pending;
    },
  },
  {
    id: 'publish-after-reconnect-gave-up',
    scenario: 'publish() after the client gave up reconnecting (maxReconnectAttempts: 1)',
    expectCode: 'CONNECTION_CLOSED',
    failure: true,
    kind: 'connection_closed',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url, { maxReconnectAttempts: 1, reconnectTimeWait: 50 });
      await srv.kill();
      await nc.closed();
      return errorOf(() => nc.publish('any.subject', 'x'));
    },
  },
  {
    id: 'request-permission-violation',
    scenario: 'request() to a subject the user may not publish to (server config: publish deny)',
    expectCode: 'PERMISSIONS_VIOLATION',
    failure: false,
    kind: 'permission',
    run: async () => {
      const srv = await privateServer({ config: PERMISSIONS_CONFIG });
      const nc = await client(srv.url, { user: 'app', pass: 'app-pw' });
      return errorOf(() => nc.request('forbidden.thing', 'x', { timeout: 2000 }));
    },
  },
  {
    id: 'connect-bad-password',
    scenario: 'connect() with a wrong password',
    expectCode: 'AUTHORIZATION_VIOLATION',
    failure: false,
    kind: 'auth',
    run: async () => {
      const srv = await privateServer({ config: PERMISSIONS_CONFIG });
      return errorOf(() => connect({ servers: srv.url, user: 'app', pass: 'wrong', reconnect: false }));
    },
  },
  {
    id: 'jetstream-publish-without-js',
    scenario: 'jetstream().publish() on a server started without -js',
    expectCode: '503',
    failure: false,
    kind: 'no_responders',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      return errorOf(() => nc.jetstream().publish('orders.new', 'x'));
    },
  },
  {
    id: 'jetstream-manager-without-js',
    scenario: 'jetstreamManager() on a server started without -js (JetStreamNotEnabled)',
    expectCode: '503',
    failure: false,
    kind: 'no_responders',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      return errorOf(() => nc.jetstreamManager());
    },
  },
  {
    id: 'jetstream-stream-not-found',
    scenario: 'jetstreamManager().streams.info() of a missing stream on a -js server',
    expectCode: '404',
    failure: false,
    kind: 'jetstream',
    run: async () => {
      const srv = await privateServer({ jetstream: true });
      const nc = await client(srv.url);
      const jsm = await nc.jetstreamManager();
      return errorOf(() => jsm.streams.info('NO_SUCH_STREAM'));
    },
  },
  {
    id: 'publish-bad-subject',
    scenario: 'publish() with an empty subject',
    expectCode: 'BAD_SUBJECT',
    failure: false,
    kind: 'usage',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      return errorOf(() => nc.publish('', 'x'));
    },
  },
  {
    id: 'publish-bad-payload',
    scenario: 'publish() with a number as payload',
    expectCode: 'BAD_PAYLOAD',
    failure: false,
    kind: 'usage',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      return errorOf(() => nc.publish('any.subject', 42 as unknown as string));
    },
  },
  {
    id: 'publish-max-payload',
    scenario: 'publish() of 2 MiB to a server with the default 1 MiB max_payload',
    expectCode: 'MAX_PAYLOAD_EXCEEDED',
    failure: false,
    kind: 'usage',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      return errorOf(() => nc.publish('any.subject', new Uint8Array(2 * 1024 * 1024)));
    },
  },
  {
    id: 'json-decode-bad',
    scenario: 'JSONCodec().decode() of bytes that are not JSON',
    expectCode: 'BAD_JSON',
    failure: false,
    kind: 'usage',
    run: async () => errorOf(() => JSONCodec().decode(new TextEncoder().encode('{not json'))),
  },
  {
    id: 'request-invalid-timeout',
    scenario: 'request() with timeout: -1',
    expectCode: 'INVALID_OPTION',
    failure: false,
    kind: 'usage',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      return errorOf(() => nc.request('any.subject', 'x', { timeout: -1 }));
    },
  },
  {
    id: 'subscribe-while-draining',
    scenario: 'subscribe() after drain() started',
    expectCode: 'CONNECTION_DRAINING',
    failure: false,
    kind: 'lifecycle',
    run: async () => {
      const srv = await privateServer();
      const nc = await client(srv.url);
      const drained = nc.drain();
      const err = await errorOf(() => nc.subscribe('any.subject'));
      await drained;
      return err;
    },
  },
];

async function main(): Promise<void> {
  if (findNatsServer() === null) throw new Error('nats-server not found (set NATS_SERVER_BIN)');
  const natsVersion = installedVersion('nats');
  const serverVersion = execFileSync(findNatsServer()!, ['--version']).toString().trim();

  const cases: unknown[] = [];
  let problems: string[];
  try {
    problems = await captureAll(scenarios, (s, err) => {
      const summary = summarize(err, NATS_FIELDS);
      cases.push({ id: s.id, scenario: s.scenario, error: summary, expected: { failure: s.failure, kind: s.kind } });
      process.stdout.write(`${s.id}: ${String(summary.code)} ${summary.message ?? ''}\n`);
      return summary.code === s.expectCode ? null : `expected code ${s.expectCode}, got ${String(summary.code)} (${summary.message})`;
    });
  } finally {
    await Promise.allSettled(connections.map((nc) => nc.close()));
    await Promise.allSettled(servers.map((s) => s.cleanup()));
    for (const { srv, sockets } of rawServers) {
      srv.close();
      for (const s of sockets) s.destroy();
    }
  }

  const fixture = {
    module: 'nats',
    capturedWith: { nats: natsVersion, natsServer: serverVersion, node: process.version },
    cases,
  };
  writeFixture(FIXTURE, fixture, problems);
}

runScript(main);

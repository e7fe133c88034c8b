/**
 * The nats patcher on a healthy server: everything the app sees is what it would see without
 * breakerbox (results, errors, objects, listeners), one request counts once, responses are
 * never guarded calls, and errors that are not the server's fault never open the breaker.
 */
import { expect } from 'chai';
import type { NatsConnection } from 'nats';
import { withOperation } from '../../src/registry/app-operation';
import { isWrapped, originalOf } from '../../src/instrumentation/wrap';
import { natsAvailable, requireService } from '../helpers/require-services';
import { requireNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';
import { instrumentNats, rejectionOf, thrownBy, type Nats, type NatsHarness } from '../fixtures/nats/harness';

const SHARED = '127.0.0.1:4222';

const CONFIG = `
circuit_breakers:
  nats:
    failure_threshold: 2
    timeout: 10
    operations: [connect, publish, request, flush, subscribe]
    app_operations: [send_chat]
`;

let unique = 0;
function subject(prefix: string): string {
  return `breakerbox.test.${prefix}.${process.pid}.${Date.now()}.${unique++}`;
}

type Internals = NatsConnection & { listeners: unknown[]; protocol: { listeners: unknown[] } };

/** What an app can observe of a full session, as plain data to compare. */
async function session(nats: Nats): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const nc = (await nats.connect({ servers: SHARED })) as Internals;
  out.connect = { proto: Object.getPrototypeOf(nc).constructor.name, server: nc.getServer(), closed: nc.isClosed() };
  out.listeners = [nc.listeners.length, nc.protocol.listeners.length];

  const echo = subject('echo');
  const responder = nc.subscribe(echo, { callback: (_err, msg) => msg.respond(msg.data) });
  out.subscribe = { proto: Object.getPrototypeOf(responder).constructor.name, subject: responder.getSubject() === echo };

  const topic = subject('topic');
  const received: string[] = [];
  const sub = nc.subscribe(topic, { max: 2, callback: (_err, msg) => received.push(msg.string()) });
  out.publish = [nc.publish(topic, 'one'), nc.publish(topic, new TextEncoder().encode('two'))];
  out.flush = await nc.flush();
  await sub.closed;
  out.received = received;

  const reply = await nc.request(echo, 'ping', { timeout: 2000 });
  out.request = { data: reply.string(), subject: reply.subject.startsWith('_INBOX.') };
  const noMux = await nc.request(echo, 'ping2', { timeout: 2000, noMux: true });
  out.requestNoMux = noMux.string();

  const none = await rejectionOf(nc.request(subject('nobody'), 'x', { timeout: 2000 }));
  out.noResponders = { name: none.name, code: none.code, message: none.message };
  const bad = thrownBy(() => nc.publish('', 'x'));
  out.badSubject = { name: bad.name, code: bad.code };
  const badPayload = thrownBy(() => nc.publish(topic, 42 as never));
  out.badPayload = { name: badPayload.name, code: badPayload.code };
  const badTimeout = await rejectionOf(nc.request(echo, 'x', { timeout: -5 }));
  out.badTimeout = { code: badTimeout.code };
  out.listenersAfter = [nc.listeners.length, nc.protocol.listeners.length];

  const other = await nats.connect({ servers: SHARED });
  out.close = await other.close();

  out.drain = await nc.drain();
  out.closed = await nc.closed();
  // Last: calls on a connection the app closed itself are the app's business, not an outage.
  const afterClose = thrownBy(() => nc.publish(topic, 'late'));
  out.publishAfterClose = afterClose.code;
  out.flushAfterClose = (await rejectionOf(nc.flush())).code;
  return out;
}

describe('nats patcher: a healthy server sees no difference', function () {
  this.timeout(30_000);
  let h: NatsHarness;

  before(requireService('nats on 127.0.0.1:4222', () => natsAvailable()));
  before(() => {
    h = instrumentNats(CONFIG);
    expect(h.patched()).to.equal(true);
  });
  after(() => h?.instrumentation.disable());

  it('patches in place: same exports, real objects, getter-only exports left as they were', () => {
    const desc = Object.getOwnPropertyDescriptor(h.nats, 'connect');
    expect(desc?.get).to.be.a('function');
    expect(desc?.set).to.equal(undefined);
    expect(Object.prototype.hasOwnProperty.call(desc, 'value')).to.equal(false);
    const proto = h.classes.NatsConnectionImpl.prototype;
    expect((proto.publish as { name: string }).name).to.equal('publish');
    const original = originalOf<{ length: number; name: string }>(proto, 'request');
    expect((proto.request as { length: number }).length).to.equal(original?.length);
    expect((proto.request as { name: string }).name).to.equal('request');
    expect(isWrapped(proto, 'flush')).to.equal(true);
  });

  it('gives identical results, errors and objects with the instrumentation disabled and enabled', async () => {
    h.instrumentation.disable();
    expect(h.patched()).to.equal(false);
    const bare = await session(h.nats);
    h.instrumentation.enable();
    expect(h.patched()).to.equal(true);
    const before = h.counts('publish');
    let guarded: Record<string, unknown>;
    try {
      guarded = await session(h.nats);
      // The two calls on the app's own closed connection must not open the breaker.
      expect(h.entry().breaker.state).to.equal('closed');
      expect(h.counts('publish').failure).to.equal(before.failure);
    } finally {
      h.entry().breaker.reset();
    }
    expect(guarded).to.deep.equal(bare);
    expect(bare.noResponders).to.deep.include({ code: '503' });
    expect(bare.listeners).to.deep.equal(bare.listenersAfter);
    expect(h.counts('publish').success).to.be.greaterThan(before.success);
    expect(h.entry().breaker.state).to.equal('closed');
  });

  it('counts one request once (its inner publish is not a publish), and a response never', async () => {
    const nc = await h.nats.connect({ servers: SHARED });
    try {
      const echo = subject('once');
      nc.subscribe(echo, { callback: (_err, msg) => msg.respond(msg.data) });
      await nc.flush();
      const publishes = h.counts('publish');
      const requests = h.counts('request');
      await nc.request(echo, 'a', { timeout: 2000 });
      await nc.request(echo, 'b', { timeout: 2000, noMux: true });
      const subscribes = h.counts('subscribe');
      await nc.request(echo, 'c', { timeout: 2000, noMux: true });
      expect(h.counts('request').success).to.equal(requests.success + 3);
      expect(h.counts('publish')).to.deep.equal(publishes);
      expect(h.counts('subscribe')).to.deep.equal(subscribes);
    } finally {
      await nc.close();
    }
  });

  it('passes no-responders (503) through unchanged, counted as ignored, never opening the breaker', async () => {
    const nc = await h.nats.connect({ servers: SHARED });
    try {
      const ignored = h.counts('request').ignored;
      for (let i = 0; i < 5; i++) {
        const err = await rejectionOf(nc.request(subject('void'), 'x', { timeout: 2000 }));
        expect(err.code).to.equal('503');
        expect(err.name).to.equal('NatsError');
      }
      expect(h.counts('request').ignored).to.equal(ignored + 5);
      expect(h.entry().breaker.state).to.equal('closed');
    } finally {
      await nc.close();
    }
  });

  it('labels calls inside withOperation() with a listed app operation, and keeps the method label otherwise', async () => {
    const nc = await h.nats.connect({ servers: SHARED });
    try {
      const chat = h.counts('send_chat').success;
      const publishes = h.counts('publish').success;
      withOperation('send_chat', () => nc.publish(subject('chat'), 'hi'));
      withOperation('not_listed', () => nc.publish(subject('chat'), 'hi'));
      expect(h.counts('send_chat').success).to.equal(chat + 1);
      expect(h.counts('publish').success).to.equal(publishes + 1);
      expect(h.entry().stats.operations.map((o) => o.name)).to.not.include('not_listed');
    } finally {
      await nc.close();
    }
  });

  it('after disable() calls go straight to the library and are not counted; enable() guards again', async () => {
    const nc = await h.nats.connect({ servers: SHARED });
    try {
      h.instrumentation.disable();
      const before = h.counts('publish').success;
      nc.publish(subject('off'), 'x');
      expect(h.counts('publish').success).to.equal(before);
      h.instrumentation.disable();
      h.instrumentation.enable();
      h.instrumentation.enable();
      expect(h.patched()).to.equal(true);
      nc.publish(subject('on'), 'x');
      expect(h.counts('publish').success).to.equal(before + 1);
    } finally {
      h.instrumentation.enable();
      await nc.close();
    }
  });
});

describe("nats patcher: permission errors are the app's, not the server's", function () {
  this.timeout(30_000);
  let h: NatsHarness;
  let srv: PrivateNats;

  before(async function () {
    requireNatsServer(this);
    srv = await startPrivateNats({
      config: `authorization { users = [ { user: "app", password: "pw", permissions: { publish: { deny: ["forbidden.>"] }, subscribe: { deny: ["secret.>"] } } } ] }`,
    });
    h = instrumentNats(CONFIG);
  });
  after(async () => {
    h?.instrumentation.disable();
    await srv?.cleanup();
  });

  it('passes PERMISSIONS_VIOLATION and auth errors through unchanged and never opens the breaker', async () => {
    const denied = await rejectionOf(h.nats.connect({ servers: srv.url, reconnect: false }));
    expect(denied.code).to.equal('AUTHORIZATION_VIOLATION');
    const again = await rejectionOf(h.nats.connect({ servers: srv.url, user: 'app', pass: 'nope', reconnect: false }));
    expect(again.code).to.equal('AUTHORIZATION_VIOLATION');

    const nc = await h.nats.connect({ servers: srv.url, user: 'app', pass: 'pw' });
    try {
      for (let i = 0; i < 3; i++) {
        const err = await rejectionOf(nc.request(`forbidden.${i}`, 'x', { timeout: 2000 }));
        expect(err.code).to.equal('PERMISSIONS_VIOLATION');
      }
      // A denied plain publish is only reported asynchronously, as a status event.
      nc.publish('forbidden.plain', 'x');
      const sub = nc.subscribe('secret.stuff');
      const subErr = await (async () => {
        try {
          for await (const _m of sub) return null;
        } catch (err) {
          return err as { code?: string };
        }
        return null;
      })();
      expect(subErr?.code).to.equal('PERMISSIONS_VIOLATION');
      await nc.flush();
      expect(h.entry().breaker.state).to.equal('closed');
      expect(h.entry().breaker.consecutiveFailures).to.equal(0);
      expect(h.counts('request').ignored).to.equal(3);
      expect(h.counts('connect').ignored).to.equal(2);
    } finally {
      await nc.close();
    }
  });
});

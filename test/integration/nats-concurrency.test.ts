/**
 * A concurrency limit on the nats breaker against the shared nats-server: requests, flushes
 * and connects over the limit are refused at once with ConcurrencyLimitError (a rejection,
 * like the library's own errors); publish is synchronous and never limited.
 */
import { expect } from 'chai';
import type { NatsConnection, Msg } from 'nats';
import { ConcurrencyLimitError } from '../../src/core';
import { natsAvailable, requireService } from '../helpers/require-services';
import { instrumentNats, rejectionOf, type NatsHarness } from '../fixtures/nats/harness';

const SHARED = '127.0.0.1:4222';
const LIMIT = 2;

let unique = 0;
function subject(prefix: string): string {
  return `breakerbox.test.limit.${prefix}.${process.pid}.${Date.now()}.${unique++}`;
}

function limited(err: unknown): void {
  expect(err).to.be.instanceOf(ConcurrencyLimitError);
  expect((err as ConcurrencyLimitError).code).to.equal('ECONCURRENCYLIMIT');
  expect((err as ConcurrencyLimitError).breaker).to.equal('nats');
  expect((err as ConcurrencyLimitError).limit).to.equal(LIMIT);
  expect((err as ConcurrencyLimitError).inflight).to.equal(LIMIT);
}

describe('nats patcher: concurrency limit (shared nats-server)', function () {
  this.timeout(30_000);
  let h: NatsHarness;
  let nc: NatsConnection;
  let slow: string;
  /** Requests the responder holds until released. */
  const pending: Msg[] = [];

  before(requireService('nats', natsAvailable));
  before(async () => {
    h = instrumentNats(`
circuit_breakers:
  nats:
    failure_threshold: 2
    timeout: 10
    concurrency: {limit: ${LIMIT}}
`);
    expect(h.patched()).to.equal(true);
    nc = await h.nats.connect({ servers: SHARED });
    slow = subject('slow');
    nc.subscribe(slow, { callback: (_err, msg) => pending.push(msg) });
    await nc.flush();
  });
  afterEach(() => {
    h.entry().breaker.fallback(null);
    expect(h.entry().breaker.inflight, 'every slot given back').to.equal(0);
  });
  after(async () => {
    await nc?.close();
    h?.instrumentation.disable();
  });

  /** Two requests held by the responder; `release()` answers them. */
  async function fillLimit(): Promise<{ release: () => Promise<void> }> {
    const requests = [nc.request(slow, 'a', { timeout: 5000 }), nc.request(slow, 'b', { timeout: 5000 })];
    expect(h.entry().breaker.inflight).to.equal(LIMIT);
    while (pending.length < LIMIT) await new Promise((r) => setTimeout(r, 5));
    return {
      release: async () => {
        for (const m of pending.splice(0)) m.respond(m.data);
        await Promise.all(requests);
      },
    };
  }

  it('refuses a request and a flush over the limit, while publish still goes out', async () => {
    const held = await fillLimit();
    const echo = subject('echo');
    const got: string[] = [];
    const sub = nc.subscribe(echo, { max: 1, callback: (_err, msg) => got.push(msg.string()) });
    limited(await rejectionOf(nc.request(slow, 'c', { timeout: 5000 })));
    limited(await rejectionOf(nc.flush()));
    // Synchronous: not limited.
    nc.publish(echo, 'published while full');
    await held.release();
    await nc.flush();
    await sub.closed;
    expect(got).to.deep.equal(['published while full']);
    expect(h.counts('request').success).to.be.at.least(2);
    expect(h.entry().breaker.state).to.equal('closed');
  });

  it('refuses a new connection over the limit', async () => {
    const held = await fillLimit();
    limited(await rejectionOf(h.nats.connect({ servers: SHARED })));
    await held.release();
    const again = await h.nats.connect({ servers: SHARED });
    await again.close();
  });

  it('answers a refused request from the fallback', async () => {
    const reply = { string: () => 'from fallback' };
    h.entry().breaker.fallback(() => reply);
    const held = await fillLimit();
    expect(await nc.request(slow, 'c', { timeout: 5000 })).to.equal(reply);
    await held.release();
  });

  it('answers a refused request from a per-operation fallback', async () => {
    const seen: string[] = [];
    h.registry.get('nats', {
      fallback: {
        request: (...args: unknown[]) => {
          seen.push((args[args.length - 1] as { code?: string }).code ?? '');
          return 'per-operation';
        },
      },
    });
    try {
      const held = await fillLimit();
      expect(await nc.request(slow, 'c', { timeout: 5000 })).to.equal('per-operation');
      await held.release();
      expect(seen).to.deep.equal(['ECONCURRENCYLIMIT']);
    } finally {
      h.registry.get('nats', { fallback: {} });
    }
  });
});

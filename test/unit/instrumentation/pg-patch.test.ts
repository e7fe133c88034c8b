/**
 * The pg patch without a server: what a refused call looks like in every call form, and that
 * patching is reversible. A forced-open breaker refuses everything, so none of these calls
 * may open a socket (the clients point at a port nothing listens on).
 */
import { expect } from 'chai';
import { BreakerOpenError } from '../../../src/core';
import { originalOf } from '../../../src/instrumentation/wrap';
import { flush, instrumentPg, opCounts, rejectionOf, watchUnhandled, type PgHarness } from '../../integration/pg-harness';

const FORCED_OPEN = `
circuit_breakers:
  database:
    mode: forced_open
    operations: [connect, query]
`;

/** Nothing listens here; a call that reached the network would fail with ECONNREFUSED, not ECIRCUITOPEN. */
const NOWHERE = { host: '127.0.0.1', port: 1, user: 'postgres', database: 'nowhere' };

function expectRefusal(err: unknown): void {
  expect(err).to.be.instanceOf(BreakerOpenError);
  expect((err as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
  expect((err as BreakerOpenError).breaker).to.equal('database');
}

describe("pg patcher: refused calls keep each call form's shape", () => {
  let h: PgHarness;
  let unhandled: ReturnType<typeof watchUnhandled>;

  before(() => {
    h = instrumentPg(FORCED_OPEN);
  });
  after(() => h.instrumentation.disable());
  beforeEach(() => {
    unhandled = watchUnhandled();
  });
  afterEach(async () => {
    await flush();
    unhandled.stop();
    expect(unhandled.reasons).to.deep.equal([]);
  });

  function untouched(client: InstanceType<PgHarness['pg']['Client']>): void {
    const c = client as unknown as { _connecting: boolean; connection: { stream: { connecting: boolean; destroyed: boolean } } };
    expect(c._connecting).to.equal(false);
    expect(c.connection.stream.connecting).to.equal(false);
  }

  it('client.connect(): the promise rejects with ECIRCUITOPEN without opening a socket', async () => {
    const client = new h.pg.Client(NOWHERE);
    const p = client.connect();
    expect(p).to.be.instanceOf(Promise);
    expectRefusal(await rejectionOf(p));
    untouched(client);
  });

  it('client.connect(cb): calls back once, asynchronously, with the rejection', async () => {
    const client = new h.pg.Client(NOWHERE);
    const calls: unknown[][] = [];
    const ret = client.connect((...args: unknown[]) => calls.push(args));
    expect(ret).to.equal(undefined);
    expect(calls).to.have.length(0);
    await flush();
    expect(calls).to.have.length(1);
    expectRefusal(calls[0][0]);
    untouched(client);
  });

  it('client.query(text) and (text, values): promises that reject', async () => {
    const client = new h.pg.Client(NOWHERE);
    const before = opCounts(h.entry(), 'query').rejected;
    const p1 = client.query('SELECT 1');
    const p2 = client.query('SELECT $1::int', [1]);
    const p3 = client.query({ text: 'SELECT $1::int', values: [1] });
    for (const p of [p1, p2, p3]) {
      expect(p).to.be.instanceOf(Promise);
      expectRefusal(await rejectionOf(p));
    }
    expect(opCounts(h.entry(), 'query').rejected - before).to.equal(3);
    untouched(client);
  });

  it('client.query with a callback in any position: called once, asynchronously, returns undefined', async () => {
    const client = new h.pg.Client(NOWHERE);
    const calls: string[] = [];
    const errors: unknown[] = [];
    const cb = (name: string) => (err: unknown, res?: unknown) => {
      calls.push(name);
      errors.push(err);
      expect(res).to.equal(undefined);
    };
    const config = { text: 'SELECT 1', callback: cb('config.callback') };
    const rets = [
      client.query('SELECT 1', cb('text, cb')),
      client.query('SELECT $1::int', [1], cb('text, values, cb')),
      client.query({ text: 'SELECT 1' }, cb('config, cb')),
      client.query(config as never),
    ];
    expect(rets).to.deep.equal([undefined, undefined, undefined, undefined]);
    expect(calls).to.deep.equal([]);
    await flush();
    expect(calls).to.deep.equal(['text, cb', 'text, values, cb', 'config, cb', 'config.callback']);
    errors.forEach(expectRefusal);
    expect(config.callback).to.be.a('function');
    untouched(client);
  });

  it('a Submittable comes back as the same object and gets the error through handleError(err, connection), asynchronously', async () => {
    const client = new h.pg.Client(NOWHERE);
    const seen: unknown[][] = [];
    const submittable = {
      text: 'SELECT 1',
      submit: () => {
        throw new Error('must not be submitted');
      },
      handleError(...args: unknown[]) {
        seen.push(args);
      },
    };
    const ret = client.query(submittable as never);
    expect(ret).to.equal(submittable);
    expect(seen).to.have.length(0);
    await flush();
    expect(seen).to.have.length(1);
    expectRefusal(seen[0][0]);
    expect(seen[0][1]).to.equal((client as unknown as { connection: unknown }).connection);
    expect(Object.keys(submittable)).to.deep.equal(['text', 'submit', 'handleError']);
  });

  it("a pg.Query emits 'error' (no callback) or calls its callback (callback argument)", async () => {
    const client = new h.pg.Client(NOWHERE);
    const q1 = new h.pg.Query('SELECT 1');
    const emitted: unknown[] = [];
    q1.on('error', (err: unknown) => emitted.push(err));
    expect(client.query(q1)).to.equal(q1);
    const q2 = new h.pg.Query('SELECT 1');
    const called: unknown[] = [];
    expect(client.query(q2 as never, ((err: unknown) => called.push(err)) as never)).to.equal(q2);
    await flush();
    expect(emitted).to.have.length(1);
    expectRefusal(emitted[0]);
    expect(called).to.have.length(1);
    expectRefusal(called[0]);
  });

  it("pool.connect(): rejects, or calls back with (err, undefined, release) like pg-pool's own connect errors", async () => {
    const pool = new h.pg.Pool(NOWHERE);
    expectRefusal(await rejectionOf(pool.connect()));
    const calls: unknown[][] = [];
    pool.connect((...args: unknown[]) => calls.push(args));
    await flush();
    expect(calls).to.have.length(1);
    expectRefusal(calls[0][0]);
    expect(calls[0][1]).to.equal(undefined);
    expect(calls[0][2]).to.be.a('function');
    expect(pool.totalCount).to.equal(0);
    await pool.end();
  });

  it('pool.query(): rejects (promise) or calls back once (callback), counted once as a rejected query', async () => {
    const pool = new h.pg.Pool(NOWHERE);
    const before = { query: opCounts(h.entry(), 'query').rejected, connect: opCounts(h.entry(), 'connect').rejected };
    expectRefusal(await rejectionOf(pool.query('SELECT 1')));
    const calls: unknown[][] = [];
    pool.query('SELECT 1', (...args: unknown[]) => calls.push(args));
    pool.query('SELECT $1::int', [1], (...args: unknown[]) => calls.push(args));
    await flush();
    expect(calls).to.have.length(2);
    calls.forEach((c) => expectRefusal(c[0]));
    expect(opCounts(h.entry(), 'query').rejected - before.query).to.equal(3);
    expect(opCounts(h.entry(), 'connect').rejected - before.connect).to.equal(0);
    expect(pool.totalCount).to.equal(0);
    await pool.end();
  });

  it("gives a client's own Promise type back for refusals", async () => {
    class OwnPromise<T> extends Promise<T> {}
    const client = new h.pg.Client({ ...NOWHERE, Promise: OwnPromise } as never);
    const p = client.query('SELECT 1');
    expect(p).to.be.instanceOf(OwnPromise);
    expectRefusal(await rejectionOf(p));
  });

  it('leaves argument errors to pg, thrown synchronously as without breakerbox', () => {
    const client = new h.pg.Client(NOWHERE);
    expect(() => client.query(null as never)).to.throw(TypeError, /null or undefined/);
    expect(() => client.query('SELECT 1', [], 'not a function' as never)).to.throw(TypeError, /callback is not a function/);
  });
});

describe('pg patcher: patching is reversible', () => {
  it('disable() puts back every original method, enable() patches again, names and lengths are kept', () => {
    const h = instrumentPg(FORCED_OPEN);
    try {
      const clientProto = h.pg.Client.prototype as unknown as Record<string, unknown>;
      const poolProto = Object.getPrototypeOf(h.pg.Pool.prototype) as Record<string, unknown>;
      const originals = {
        clientConnect: originalOf<(...a: unknown[]) => unknown>(clientProto, 'connect'),
        clientQuery: originalOf<(...a: unknown[]) => unknown>(clientProto, 'query'),
        poolConnect: originalOf<(...a: unknown[]) => unknown>(poolProto, 'connect'),
        poolQuery: originalOf<(...a: unknown[]) => unknown>(poolProto, 'query'),
        poolNewClient: originalOf<(...a: unknown[]) => unknown>(poolProto, 'newClient'),
      };
      for (const fn of Object.values(originals)) expect(fn).to.be.a('function');
      const query = clientProto.query as (...a: unknown[]) => unknown;
      expect(query.name).to.equal('query');
      expect(query.length).to.equal(originals.clientQuery!.length);

      h.instrumentation.disable();
      expect(h.patched()).to.equal(false);
      expect(clientProto.connect).to.equal(originals.clientConnect);
      expect(clientProto.query).to.equal(originals.clientQuery);
      expect(poolProto.connect).to.equal(originals.poolConnect);
      expect(poolProto.query).to.equal(originals.poolQuery);
      expect(poolProto.newClient).to.equal(originals.poolNewClient);
      expect(Object.getOwnPropertyDescriptor(clientProto, 'query')).to.include({ enumerable: false, writable: true, configurable: true });

      h.instrumentation.enable();
      expect(h.patched()).to.equal(true);
      h.instrumentation.enable();
      expect(originalOf(clientProto, 'query')).to.equal(originals.clientQuery);
    } finally {
      h.instrumentation.disable();
    }
  });

  it('patches only the configured operations', () => {
    const h = instrumentPg(`
circuit_breakers:
  database:
    operations: [connect]
`);
    try {
      const clientProto = h.pg.Client.prototype as unknown as Record<string, unknown>;
      const poolProto = Object.getPrototypeOf(h.pg.Pool.prototype) as Record<string, unknown>;
      expect(originalOf(clientProto, 'query')).to.equal(undefined);
      expect(originalOf(poolProto, 'query')).to.equal(undefined);
      expect(originalOf(clientProto, 'connect')).to.be.a('function');
      expect(originalOf(poolProto, 'connect')).to.be.a('function');
    } finally {
      h.instrumentation.disable();
    }
  });
});

import { expect } from 'chai';
import { BreakerOpenError, BreakerOptionsError, CircuitBreaker, ConcurrencyLimitError, OUTCOMES } from '../../../src/core';
import type { CallRecorder } from '../../../src/core';
import { boom, deferred, FakeClock } from './fake-clock';

/** Holds `n` guarded calls open; `settle()` resolves them all. */
function hold(b: CircuitBreaker, n: number): { settle: () => Promise<void>; calls: Promise<unknown>[] } {
  const gate = deferred<string>();
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) calls.push(b.execute(() => gate.promise));
  return {
    calls,
    settle: async () => {
      gate.resolve('done');
      await Promise.all(calls);
    },
  };
}

class CountingRecorder implements CallRecorder {
  readonly counts = new Map<string, number>();
  record(_op: number, outcome: number): void {
    const name = OUTCOMES[outcome];
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
  recordFallback(): void {}
}

describe('CircuitBreaker: concurrency limit', () => {
  it('refuses the call over a fixed limit with a ConcurrencyLimitError naming breaker, limit and in-flight count', async () => {
    const b = new CircuitBreaker({ name: 'db', concurrency: { limit: 2 } });
    const held = hold(b, 2);
    expect(b.inflight).to.equal(2);
    let ran = false;
    const err = await b
      .execute(async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(ran, 'the refused call never runs').to.equal(false);
    expect(err).to.be.instanceOf(ConcurrencyLimitError);
    expect(err).to.be.instanceOf(Error);
    const e = err as ConcurrencyLimitError;
    expect(e.code).to.equal('ECONCURRENCYLIMIT');
    expect(e.breaker).to.equal('db');
    expect(e.limit).to.equal(2);
    expect(e.inflight).to.equal(2);
    expect(e.name).to.equal('ConcurrencyLimitError');
    expect(e.message).to.include('"db"').and.include('limit 2').and.include('2 calls in flight').and.include('ECONCURRENCYLIMIT');
    expect(JSON.parse(JSON.stringify(e))).to.deep.include({ code: 'ECONCURRENCYLIMIT', breaker: 'db', limit: 2, inflight: 2 });
    await held.settle();
    expect(b.inflight).to.equal(0);
    expect(await b.execute(async () => 'again')).to.equal('again');
  });

  it('gives a slot back when a call fails, throws synchronously or settles late', async () => {
    const b = new CircuitBreaker({ name: 'db', failureThreshold: 0, concurrency: { limit: 1 } });
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    expect(b.inflight).to.equal(0);
    await b
      .execute(() => {
        throw boom();
      })
      .catch(() => undefined);
    expect(b.inflight).to.equal(0);
    expect(await b.execute(async () => 1)).to.equal(1);
  });

  it('is no evidence: refusals neither count as failures nor move the state', async () => {
    const rec = new CountingRecorder();
    const b = new CircuitBreaker({ name: 'db', failureThreshold: 1, failureRate: 0.5, minimumCalls: 1, concurrency: { limit: 1 } });
    b.recorder = rec;
    const held = hold(b, 1);
    for (let i = 0; i < 20; i++) await b.execute(async () => 'x').catch(() => undefined);
    expect(b.state).to.equal('closed');
    expect(b.consecutiveFailures).to.equal(0);
    expect(b.measuredFailureRate).to.equal(0);
    await held.settle();
    expect(rec.counts.get('limited')).to.equal(20);
    expect(rec.counts.get('success')).to.equal(1);
    expect(rec.counts.get('failure')).to.equal(undefined);
    expect(rec.counts.get('rejected')).to.equal(undefined);
  });

  it('emits `limited`, not `rejected`, for a refusal', async () => {
    const b = new CircuitBreaker({ name: 'db', concurrency: { limit: 1 } });
    const seen: string[] = [];
    b.on('limited', (e) => seen.push(`limited:${e.outcome}:${(e.error as ConcurrencyLimitError).code}`));
    b.on('rejected', () => seen.push('rejected'));
    const held = hold(b, 1);
    await b.execute(async () => 1).catch(() => undefined);
    await held.settle();
    expect(seen).to.deep.equal(['limited:limited:ECONCURRENCYLIMIT']);
  });

  it('hands a callback its refusal asynchronously, exactly once, like a rejection', async () => {
    const b = new CircuitBreaker({ name: 'db', concurrency: { limit: 1 } });
    const held = hold(b, 1);
    const calls: unknown[][] = [];
    let sync = true;
    const done = deferred<void>();
    b.executeCallback(
      (cb: (err: unknown) => void) => cb(null),
      [],
      (...args) => {
        calls.push([sync, ...args]);
        done.resolve();
      },
    );
    sync = false;
    await done.promise;
    await new Promise((r) => setImmediate(r));
    expect(calls).to.have.length(1);
    expect(calls[0][0], 'not called synchronously').to.equal(false);
    expect(calls[0][1]).to.be.instanceOf(ConcurrencyLimitError);
    await held.settle();
  });

  it('sends a refused call to the fallback with the call arguments and the error', async () => {
    const b = new CircuitBreaker({ name: 'db', concurrency: { limit: 1 } });
    const got: unknown[][] = [];
    b.fallback((...args: unknown[]) => {
      got.push(args);
      return 'from fallback';
    });
    const held = hold(b, 1);
    const guarded = b.wrap(async (a: number, c: number) => a + c);
    expect(await guarded(1, 2)).to.equal('from fallback');
    expect(got[0].slice(0, 2)).to.deep.equal([1, 2]);
    expect(got[0][2]).to.be.instanceOf(ConcurrencyLimitError);
    await held.settle();
  });

  it('does not limit executeSync (synchronous calls hold nothing in flight)', async () => {
    const b = new CircuitBreaker({ name: 'db', concurrency: { limit: 1 } });
    const held = hold(b, 1);
    expect(b.executeSync(() => 'sync ran')).to.equal('sync ran');
    expect(b.inflight).to.equal(1);
    await held.settle();
  });

  it('keeps the slot of a call admitted before the breaker opened until that call settles', async () => {
    const b = new CircuitBreaker({ name: 'db', concurrency: { limit: 1 } });
    const held = hold(b, 1);
    b.forceOpen();
    b.close();
    expect(b.inflight).to.equal(1);
    expect(await b.execute(async () => 1).catch((e: unknown) => e)).to.be.instanceOf(ConcurrencyLimitError);
    await held.settle();
    expect(b.inflight).to.equal(0);
    expect(await b.execute(async () => 2)).to.equal(2);
  });

  it('an open breaker still rejects with BreakerOpenError, whatever the in-flight count', async () => {
    const b = new CircuitBreaker({ name: 'db', concurrency: { limit: 1 } });
    const held = hold(b, 1);
    b.forceOpen();
    expect(await b.execute(async () => 1).catch((e: unknown) => e)).to.be.instanceOf(BreakerOpenError);
    b.close();
    await held.settle();
  });

  it('limits half-open trials too, without using up a trial slot on a refusal', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({
      name: 'db',
      failureThreshold: 1,
      resetTimeoutMs: 1000,
      halfOpenMaxCalls: 3,
      concurrency: { limit: 1 },
      now: clock.now,
    });
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    expect(b.state).to.equal('open');
    clock.advance(1000);
    const trial = deferred<string>();
    const first = b.execute(() => trial.promise);
    expect(b.state).to.equal('half_open');
    expect(await b.execute(async () => 1).catch((e: unknown) => e)).to.be.instanceOf(ConcurrencyLimitError);
    trial.resolve('ok');
    expect(await first).to.equal('ok');
    expect(b.state).to.equal('closed');
  });

  it('frees the slot of a call that hit callTimeoutMs', async () => {
    const b = new CircuitBreaker({ name: 'db', callTimeoutMs: 20, failureThreshold: 0, concurrency: { limit: 1 } });
    const never = new Promise(() => undefined);
    const err = await b.execute(() => never).catch((e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('ECIRCUITTIMEOUT');
    expect(b.inflight).to.equal(0);
    expect(await b.execute(async () => 'next')).to.equal('next');
  });

  it('metrics_only counts calls in flight but never refuses', async () => {
    const rec = new CountingRecorder();
    const b = new CircuitBreaker({ name: 'db', mode: 'metrics_only', concurrency: { limit: 1 } });
    b.recorder = rec;
    const held = hold(b, 3);
    expect(b.inflight).to.equal(3);
    await held.settle();
    expect(rec.counts.get('limited')).to.equal(undefined);
    expect(rec.counts.get('success')).to.equal(3);
  });

  it('is off unless set: no limit, nothing refused', async () => {
    const b = new CircuitBreaker({ name: 'db' });
    expect(b.concurrencyLimit).to.equal(null);
    expect(b.options.concurrency).to.equal(null);
    const held = hold(b, 1000);
    expect(b.inflight).to.equal(0);
    await held.settle();
  });

  it('reports the limit in force and resolves the options with defaults', () => {
    expect(new CircuitBreaker({ name: 'a', concurrency: { limit: 7 } }).concurrencyLimit).to.equal(7);
    expect(new CircuitBreaker({ name: 'a', concurrency: { limit: 7 } }).options.concurrency).to.deep.equal({ limit: 7 });
    // Resolved options are valid options again (how per-target children are built).
    const parent = new CircuitBreaker({ name: 'a', concurrency: { limit: 3 } });
    expect(new CircuitBreaker({ ...parent.options, name: 'a@x' }).concurrencyLimit).to.equal(3);
  });

  describe('options', () => {
    const bad: [string, unknown, RegExp][] = [
      ['a number', 5, /option concurrency: got 5, expected \{ limit/],
      ['a zero limit', { limit: 0 }, /option concurrency\.limit: got 0, expected a whole number from 1 to 100000/],
      ['a fractional limit', { limit: 2.5 }, /concurrency\.limit: got 2\.5, expected a whole number/],
      [
        'a string limit',
        { limit: 'lots' },
        /concurrency\.limit: got "lots", expected a whole number from 1 to 100000 \(a fixed bulkhead\) or "adaptive"/,
      ],
      [
        'an unknown key',
        { limit: 2, maxConcurrent: 3 },
        /concurrency\.maxConcurrent: got 3, expected no such key \(known: limit, algorithm, min, max\)/,
      ],
      [
        'an algorithm with a fixed limit',
        { limit: 2, algorithm: 'vegas' },
        /concurrency\.algorithm: got "vegas", expected no algorithm with a fixed limit/,
      ],
      ['min with a fixed limit', { limit: 2, min: 1 }, /concurrency\.min: got 1, expected no min with a fixed limit/],
      [
        'an unknown algorithm',
        { limit: 'adaptive', algorithm: 'gradient' },
        /concurrency\.algorithm: got "gradient", expected one of "gradient2", "vegas", "aimd"/,
      ],
      [
        'min above max',
        { limit: 'adaptive', min: 50, max: 10 },
        /concurrency\.min: got 50, expected a whole number <= concurrency\.max \(10\)/,
      ],
      ['max 0', { limit: 'adaptive', max: 0 }, /concurrency\.max: got 0, expected a whole number from 1/],
    ];
    for (const [what, value, message] of bad) {
      it(`refuses ${what}, naming the key, the value and what was expected`, () => {
        expect(() => new CircuitBreaker({ name: 'db', concurrency: value as never }))
          .to.throw(BreakerOptionsError, message)
          .with.property('message')
          .that.includes('CircuitBreaker "db"');
      });
    }

    it('takes null as off', () => {
      expect(new CircuitBreaker({ name: 'db', concurrency: null }).concurrencyLimit).to.equal(null);
    });
  });
});

describe('Limiter: what the limit algorithm is told', () => {
  it('reports each finished call with its round trip, the in-flight count when it started and whether it was dropped', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 'db', failureThreshold: 0, concurrency: { limit: 5 }, now: clock.now });
    // With call stats, as module breakers have: every call is timed.
    b.recorder = new CountingRecorder();
    const samples: [number, number, boolean][] = [];
    // The algorithm is the breaker's own business; a recording one stands in for it here.
    const limiter = (b as unknown as { limiter: { algorithm: unknown; sampled: boolean } }).limiter;
    limiter.sampled = true;
    limiter.algorithm = {
      limit: 5,
      onSample: (_now: number, rtt: number, inflight: number, dropped: boolean) => samples.push([rtt, inflight, dropped]),
    };
    const first = deferred<string>();
    const second = deferred<string>();
    const a = b.execute(() => first.promise);
    clock.advance(10);
    const c = b.execute(() => second.promise);
    clock.advance(5);
    second.reject(boom());
    await c.catch(() => undefined);
    clock.advance(20);
    first.resolve('ok');
    await a;
    expect(samples).to.deep.equal([
      [5, 2, true],
      [35, 1, false],
    ]);
  });
});

describe('CircuitBreaker: adaptive concurrency limit', () => {
  it('builds the configured algorithm, starting at max (nothing shed before latency is known)', () => {
    for (const algorithm of ['gradient2', 'vegas', 'aimd'] as const) {
      const b = new CircuitBreaker({ name: 'db', concurrency: { limit: 'adaptive', algorithm, min: 3, max: 40 } });
      expect(b.concurrencyLimit, algorithm).to.equal(40);
      expect(b.options.concurrency).to.deep.equal({ limit: 'adaptive', algorithm, min: 3, max: 40 });
    }
    expect(new CircuitBreaker({ name: 'db', concurrency: { limit: 'adaptive' } }).options.concurrency).to.deep.equal({
      limit: 'adaptive',
      algorithm: 'gradient2',
      min: 2,
      max: 100,
    });
  });

  it('lowers the limit on failed calls down to min, refuses by the limit in force, and raises it again while calls succeed at the limit', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({
      name: 'db',
      failureThreshold: 0,
      concurrency: { limit: 'adaptive', algorithm: 'aimd', min: 2, max: 10 },
      now: clock.now,
    });
    // With call stats, as module breakers have: every call is reported to the algorithm.
    b.recorder = new CountingRecorder();
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      const call = deferred<string>();
      const p = b.execute(() => call.promise);
      clock.advance(5);
      call.reject(boom());
      await p.catch(() => undefined);
      seen.push(b.concurrencyLimit as number);
    }
    expect(seen[0]).to.be.below(10);
    for (let i = 1; i < seen.length; i++) expect(seen[i], 'never up on failures').to.be.at.most(seen[i - 1]);
    expect(b.concurrencyLimit).to.equal(2);
    expect(b.state).to.equal('closed');

    const held = hold(b, 2);
    expect(await b.execute(async () => 1).catch((e: unknown) => e))
      .to.be.instanceOf(ConcurrencyLimitError)
      .with.property('limit', 2);
    clock.advance(5);
    await held.settle();

    // Waves of successful calls that use the whole limit: it grows back.
    for (let wave = 0; wave < 5; wave++) {
      const limit = b.concurrencyLimit as number;
      const gate = deferred<string>();
      const calls = Array.from({ length: limit }, () => b.execute(() => gate.promise));
      clock.advance(5);
      gate.resolve('ok');
      await Promise.all(calls);
    }
    expect(b.concurrencyLimit).to.be.above(2);
  });

  it('without call stats (the lean path), still moves: one call in 8 is timed and reported', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({
      name: 'db',
      failureThreshold: 0,
      concurrency: { limit: 'adaptive', algorithm: 'aimd', min: 2, max: 10 },
      now: clock.now,
    });
    for (let i = 0; i < 8; i++) {
      const call = deferred<string>();
      const p = b.execute(() => call.promise);
      clock.advance(5);
      call.reject(boom());
      await p.catch(() => undefined);
      expect(b.concurrencyLimit, `after ${i + 1} failed calls`).to.equal(i < 7 ? 10 : 9);
    }
    expect(b.inflight).to.equal(0);
  });
});

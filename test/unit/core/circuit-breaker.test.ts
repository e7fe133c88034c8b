import { inspect } from 'node:util';
import { expect } from 'chai';
import { BreakerOpenError, BreakerTimeoutError, CircuitBreaker } from '../../../src/core';
import type { StateChangeEvent } from '../../../src/core';
import { boom, deferred, FakeClock } from './fake-clock';

async function failTimes(b: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await b.execute(() => Promise.reject(boom())).catch(() => undefined);
}

describe('CircuitBreaker: closed state', () => {
  it('returns the guarded result and passes the very same error object through', async () => {
    const b = new CircuitBreaker({ name: 't' });
    expect(await b.execute(async () => 42)).to.equal(42);
    const err = boom();
    const caught = await b.execute(() => Promise.reject(err)).catch((e) => e);
    expect(caught).to.equal(err);
  });

  it('turns a synchronous throw inside execute into a rejection, counted as a failure', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1 });
    const err = boom();
    const p = b.execute(() => {
      throw err;
    });
    expect(p).to.be.instanceOf(Promise);
    expect(await p.catch((e) => e)).to.equal(err);
    expect(b.state).to.equal('open');
  });

  it('opens after failureThreshold consecutive failures, and a success resets the streak', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 3 });
    await failTimes(b, 2);
    await b.execute(async () => 'ok');
    await failTimes(b, 2);
    expect(b.state).to.equal('closed');
    await failTimes(b, 1);
    expect(b.state).to.equal('open');
  });

  it('never opens on errors isFailure rejects, and hands them back unchanged', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, isFailure: (e) => (e as Error).message !== 'syntax' });
    const err = boom('syntax');
    for (let i = 0; i < 5; i++) expect(await b.execute(() => Promise.reject(err)).catch((e) => e)).to.equal(err);
    expect(b.state).to.equal('closed');
  });

  it('counts an error as a failure when isFailure itself throws', async () => {
    const b = new CircuitBreaker({
      name: 't',
      failureThreshold: 1,
      isFailure: () => {
        throw new Error('bad hook');
      },
    });
    await failTimes(b, 1);
    expect(b.state).to.equal('open');
  });
});

describe('CircuitBreaker: open state', () => {
  it('rejects with ECIRCUITOPEN without invoking the guarded function', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 'db', failureThreshold: 1, resetTimeoutMs: 10_000, now: clock.now });
    await failTimes(b, 1);
    let invoked = 0;
    const err = await b
      .execute(async () => {
        invoked++;
      })
      .catch((e) => e);
    expect(invoked).to.equal(0);
    expect(err).to.be.instanceOf(BreakerOpenError);
    expect(err.code).to.equal('ECIRCUITOPEN');
    expect(err.breaker).to.equal('db');
    expect(err.state).to.equal('open');
    expect(err.retryAfterMs).to.equal(10_000);
    clock.advance(4_000);
    expect(err.retryAfterMs, 'counts down').to.equal(6_000);
    expect(err.message).to.contain('db');
  });

  it('half-opens after the reset timeout and closes when the trial succeeds', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 1000, now: clock.now });
    const changes: string[] = [];
    b.on('stateChange', (e) => changes.push(`${e.from}->${e.to}:${e.reason}`));
    await failTimes(b, 1);
    clock.advance(999);
    expect(await b.execute(async () => 1).catch((e) => e.code)).to.equal('ECIRCUITOPEN');
    clock.advance(1);
    expect(await b.execute(async () => 'trial')).to.equal('trial');
    expect(b.state).to.equal('closed');
    expect(changes).to.deep.equal(['closed->open:failure_threshold', 'open->half_open:reset_timeout', 'half_open->closed:trial_succeeded']);
  });

  it('re-opens when the trial fails, doubling the open time up to maxResetTimeoutMs', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 1000, maxResetTimeoutMs: 3000, now: clock.now });
    await failTimes(b, 1);
    const opens: number[] = [];
    for (let i = 0; i < 3; i++) {
      clock.advance(b.retryAt! - clock.t);
      await failTimes(b, 1);
      expect(b.state).to.equal('open');
      opens.push(b.retryAt! - clock.t);
    }
    expect(opens).to.deep.equal([2000, 3000, 3000]);
    clock.advance(3000);
    await b.execute(async () => 1);
    expect(b.state).to.equal('closed');
    await failTimes(b, 1);
    expect(b.retryAt! - clock.t, 'backoff forgotten after closing').to.equal(1000);
  });

  it('keeps a fixed open time when no maxResetTimeoutMs is set', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 1000, now: clock.now });
    await failTimes(b, 1);
    clock.advance(1000);
    await failTimes(b, 1);
    expect(b.retryAt! - clock.t).to.equal(1000);
  });
});

describe('CircuitBreaker: half-open concurrency', () => {
  it('lets halfOpenMaxCalls trials race and rejects the rest at once', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({
      name: 't',
      failureThreshold: 1,
      resetTimeoutMs: 100,
      halfOpenMaxCalls: 2,
      successThreshold: 2,
      now: clock.now,
    });
    await failTimes(b, 1);
    clock.advance(100);
    const d1 = deferred();
    const d2 = deferred();
    let invoked = 0;
    const t1 = b.execute(() => {
      invoked++;
      return d1.promise;
    });
    const t2 = b.execute(() => {
      invoked++;
      return d2.promise;
    });
    const third = await b
      .execute(async () => {
        invoked++;
      })
      .catch((e) => e);
    expect(third.code).to.equal('ECIRCUITOPEN');
    expect(third.state).to.equal('half_open');
    expect(invoked).to.equal(2);
    d1.resolve('a');
    await t1;
    expect(b.state, 'one success of two needed').to.equal('half_open');
    d2.resolve('b');
    await t2;
    expect(b.state).to.equal('closed');
  });

  it('re-opens on the first failed trial even while another trial is still running', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 100, halfOpenMaxCalls: 2, now: clock.now });
    await failTimes(b, 1);
    clock.advance(100);
    const slow = deferred();
    const stillRunning = b.execute(() => slow.promise);
    await failTimes(b, 1);
    expect(b.state).to.equal('open');
    slow.resolve('late');
    expect(await stillRunning).to.equal('late');
    expect(b.state, 'a late success from a superseded trial does not close it').to.equal('open');
  });

  it('is not wedged by a trial that never settles', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 100, trialTimeoutMs: 500, now: clock.now });
    const reasons: string[] = [];
    b.on('stateChange', (e) => reasons.push(e.reason));
    await failTimes(b, 1);
    clock.advance(100);
    void b.execute(() => new Promise(() => undefined));
    clock.advance(499);
    expect((await b.execute(async () => 1).catch((e) => e)).code).to.equal('ECIRCUITOPEN');
    clock.advance(1);
    expect((await b.execute(async () => 1).catch((e) => e)).code).to.equal('ECIRCUITOPEN');
    expect(reasons).to.include('trial_timeout');
    clock.advance(100);
    expect(await b.execute(async () => 'fresh trial')).to.equal('fresh trial');
    expect(b.state).to.equal('closed');
  });

  it('treats an ignored error during a trial as proof the dependency answers', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({
      name: 't',
      failureThreshold: 1,
      resetTimeoutMs: 100,
      isFailure: (e) => (e as Error).message === 'down',
      now: clock.now,
    });
    await b.execute(() => Promise.reject(boom('down'))).catch(() => undefined);
    clock.advance(100);
    await b.execute(() => Promise.reject(boom('constraint'))).catch(() => undefined);
    expect(b.state).to.equal('closed');
  });
});

describe('CircuitBreaker: late answers', () => {
  it('ignores, for state, calls that settle after the breaker moved on', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 2, resetTimeoutMs: 100, now: clock.now });
    const hanging = deferred();
    const old = b.execute(() => hanging.promise).catch(() => undefined);
    await failTimes(b, 2);
    expect(b.state).to.equal('open');
    clock.advance(100);
    await b.execute(async () => 1);
    expect(b.state).to.equal('closed');
    hanging.reject(boom());
    await old;
    expect(b.consecutiveFailures, 'a failure from the old generation is not counted').to.equal(0);
  });
});

describe('CircuitBreaker: call timeout', () => {
  it('fails a call that does not settle in callTimeoutMs with ECIRCUITTIMEOUT and aborts its signal', async () => {
    const b = new CircuitBreaker({ name: 'slow', callTimeoutMs: 20, failureThreshold: 1 });
    let signal: AbortSignal | undefined;
    const err: any = await b
      .execute((s) => {
        signal = s;
        return new Promise(() => undefined);
      })
      .catch((e) => e);
    expect(err).to.be.instanceOf(BreakerTimeoutError);
    expect(err.code).to.equal('ECIRCUITTIMEOUT');
    expect(signal?.aborted).to.equal(true);
    expect(b.state).to.equal('open');
  });

  it('passes results through unchanged when they arrive in time', async () => {
    const b = new CircuitBreaker({ name: 'slow', callTimeoutMs: 1000 });
    expect(await b.execute(async () => 'fast')).to.equal('fast');
    const err = boom();
    expect(await b.execute(() => Promise.reject(err)).catch((e) => e)).to.equal(err);
  });

  it('swallows nothing: a rejection arriving after the timeout is not unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const b = new CircuitBreaker({ name: 'slow', callTimeoutMs: 5 });
      const late = deferred();
      await b.execute(() => late.promise).catch(() => undefined);
      late.reject(boom('late'));
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('CircuitBreaker: fallback', () => {
  it('serves rejected calls and counted failures with the call arguments followed by the error', async () => {
    const seen: unknown[][] = [];
    const b = new CircuitBreaker({
      name: 't',
      failureThreshold: 2,
      fallback: (...args: unknown[]) => {
        seen.push(args);
        return 'cached';
      },
    });
    const save = b.wrap(async (id: number, _name: string) => {
      throw boom(`save ${id}`);
    });
    expect(await save(1, 'a')).to.equal('cached');
    expect(await save(2, 'b')).to.equal('cached');
    expect(b.state).to.equal('open');
    expect(await save(3, 'c')).to.equal('cached');
    expect(seen.map((a) => a.slice(0, 2))).to.deep.equal([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect((seen[0][2] as Error).message).to.equal('save 1');
    expect(seen[2][2]).to.be.instanceOf(BreakerOpenError);
  });

  it('does not run for ignored errors, and a throwing fallback is what the caller gets', async () => {
    const b = new CircuitBreaker({ name: 't', isFailure: () => false, fallback: () => 'x' });
    const err = boom();
    expect(await b.execute(() => Promise.reject(err)).catch((e) => e)).to.equal(err);
    const fbErr = boom('fallback broke');
    b.fallback(() => {
      throw fbErr;
    });
    b.forceOpen();
    expect(await b.execute(async () => 1).catch((e) => e)).to.equal(fbErr);
  });
});

describe('CircuitBreaker: sync and callback shapes', () => {
  it('executeSync returns and throws synchronously, open or closed', () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1 });
    expect(b.executeSync(() => 5)).to.equal(5);
    const err = boom();
    expect(() =>
      b.executeSync(() => {
        throw err;
      }),
    ).to.throw(err.message);
    expect(() => b.executeSync(() => 1)).to.throw(BreakerOpenError);
  });

  it('executeCallback calls back exactly once with the library arguments', (done) => {
    const b = new CircuitBreaker({ name: 't' });
    let calls = 0;
    b.executeCallback(
      (a: number, cb: (e: unknown, r?: number, extra?: string) => void) => setImmediate(() => cb(null, a * 2, 'extra')),
      [21],
      (err, r, extra) => {
        calls++;
        expect(err).to.equal(null);
        expect(r).to.equal(42);
        expect(extra).to.equal('extra');
        setImmediate(() => {
          expect(calls).to.equal(1);
          done();
        });
      },
    );
  });

  it('executeCallback rejects asynchronously, never synchronously, without calling the function', (done) => {
    const b = new CircuitBreaker({ name: 't' });
    b.forceOpen();
    let sync = true;
    let invoked = false;
    b.executeCallback(
      () => {
        invoked = true;
      },
      [],
      (err) => {
        expect(sync).to.equal(false);
        expect(invoked).to.equal(false);
        expect((err as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
        done();
      },
    );
    sync = false;
  });

  it('a throw from the caller callback propagates out of the library frame unchanged', () => {
    const b = new CircuitBreaker({ name: 't' });
    const err = boom('from user callback');
    expect(() =>
      b.executeCallback(
        (cb: (e: unknown) => void) => cb(null),
        [],
        () => {
          throw err;
        },
      ),
    ).to.throw(err.message);
  });
});

describe('CircuitBreaker: administrative states and modes', () => {
  it('forceOpen rejects until close; disable passes everything; enable returns to closed with counts reset', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 2 });
    b.forceOpen();
    const err = await b.execute(async () => 1).catch((e) => e);
    expect(err.state).to.equal('forced_open');
    expect(err.retryAfterMs).to.equal(null);
    b.close();
    expect(await b.execute(async () => 1)).to.equal(1);
    b.disable();
    await failTimes(b, 10);
    expect(b.state).to.equal('disabled');
    b.enable();
    expect(b.state).to.equal('closed');
    await failTimes(b, 1);
    expect(b.state).to.equal('closed');
  });

  it('metrics_only computes the state but never rejects', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, mode: 'metrics_only' });
    await failTimes(b, 1);
    expect(b.state).to.equal('open');
    expect(await b.execute(async () => 'still called')).to.equal('still called');
  });

  it('reset forgets backoff and the outage', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 100, maxResetTimeoutMs: 1000, now: clock.now });
    await failTimes(b, 1);
    clock.advance(100);
    await failTimes(b, 1);
    b.reset();
    expect(b.state).to.equal('closed');
    await failTimes(b, 1);
    expect(b.retryAt! - clock.t).to.equal(100);
  });
});

describe('CircuitBreaker: rate policies', () => {
  it('opens on failure rate over a count window only once minimumCalls is reached', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 0, failureRate: 0.5, windowSize: 10, minimumCalls: 4 });
    await b.execute(async () => 1);
    await b.execute(async () => 1);
    await failTimes(b, 1);
    expect(b.state, '1 of 3: under minimumCalls').to.equal('closed');
    await failTimes(b, 1);
    expect(b.state, '2 of 4 = 0.5').to.equal('open');
  });

  it('forgets failures that fell out of a time window', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 0, failureRate: 0.5, windowMs: 10_000, minimumCalls: 4, now: clock.now });
    await failTimes(b, 3);
    clock.advance(11_000);
    for (let i = 0; i < 3; i++) await b.execute(async () => 1);
    await failTimes(b, 1);
    expect(b.measuredFailureRate).to.equal(0.25);
    expect(b.state).to.equal('closed');
  });

  it('opens on slow-call rate', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({
      name: 't',
      failureThreshold: 0,
      slowCallMs: 100,
      slowCallRate: 0.5,
      windowSize: 4,
      minimumCalls: 2,
      now: clock.now,
    });
    const reasons: string[] = [];
    b.on('stateChange', (e: StateChangeEvent) => reasons.push(e.reason));
    const slowCall = (): Promise<number> =>
      b.execute(async () => {
        clock.advance(150);
        return 1;
      });
    await b.execute(async () => 1);
    await slowCall();
    expect(b.state).to.equal('open');
    expect(reasons).to.deep.equal(['slow_call_rate']);
  });
});

describe('CircuitBreaker: snapshot and events', () => {
  it('round-trips its state through toJSON and initialState', async () => {
    const clock = new FakeClock();
    const a = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 1000, now: clock.now });
    await failTimes(a, 1);
    const snap = JSON.parse(JSON.stringify(a));
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 1000, now: clock.now, initialState: snap });
    expect(b.state).to.equal('open');
    clock.advance(1000);
    await b.execute(async () => 1);
    expect(b.state).to.equal('closed');
  });

  it('a throwing listener does not change the outcome of the call', async () => {
    const b = new CircuitBreaker({ name: 't' });
    b.on('success', () => {
      throw new Error('listener');
    });
    const warned = new Promise((r) => process.once('warning', r));
    expect(await b.execute(async () => 7)).to.equal(7);
    expect(String(await warned)).to.contain('listener');
  });

  it('reports the recovery time when closing after an outage', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 100, now: clock.now });
    const recoveries: (number | null)[] = [];
    b.on('stateChange', (e) => {
      if (e.to === 'closed') recoveries.push(e.recoveryMs);
    });
    await failTimes(b, 1);
    clock.advance(100);
    await failTimes(b, 1);
    clock.advance(100);
    await b.execute(async () => 1);
    expect(recoveries).to.deep.equal([200]);
  });
});

describe('CircuitBreaker: options', () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ name: '' }, /name: got "", expected a non-empty string/],
    [{ name: 'x', failureThreshold: -1 }, /failureThreshold: got -1, expected a whole number >= 0/],
    [{ name: 'x', failureRate: 2 }, /failureRate: got 2, expected a rate in \(0, 1\]/],
    [{ name: 'x', failureRate: 'automatic' }, /failureRate: got "automatic", expected a rate in \(0, 1\], 'auto', or 0 for off/],
    [{ name: 'x', slowCallMs: 'learn' }, /slowCallMs: got "learn", expected a duration in milliseconds > 0, 'auto', or 0 for off/],
    [{ name: 'x', slowCallRate: 'auto' }, /slowCallRate: got "auto", expected a rate in \(0, 1\]/],
    [{ name: 'x', resetTimeoutMs: 1000, maxResetTimeoutMs: 10 }, /maxResetTimeoutMs: got 10, expected a value >= resetTimeoutMs/],
    [{ name: 'x', slowCallRate: 0.5 }, /slowCallRate: got 0.5, expected slowCallMs/],
    [{ name: 'x', mode: 'loud' }, /mode: got "loud"/],
    [{ name: 'x', failureTreshold: 3 }, /failureTreshold: got 3, expected no such option/],
  ];
  for (const [opts, message] of bad) {
    it(`rejects ${JSON.stringify(opts)} with a message naming the option and value`, () => {
      expect(() => new CircuitBreaker(opts as never)).to.throw(message);
    });
  }

  it('spells "off" as 0 on the way in as on the way out: resolved options build the same breaker', () => {
    const b = new CircuitBreaker({ name: 'x' });
    expect(b.options).to.include({ callTimeoutMs: 0, slowCallMs: 0, slowCallRate: 0, failureRate: 0, windowSize: 0 });
    expect(new CircuitBreaker({ ...b.options }).options).to.deep.equal(b.options);
    const rated = new CircuitBreaker({
      name: 'y',
      failureThreshold: 0,
      failureRate: 0.5,
      windowSize: 20,
      slowCallMs: 300,
      callTimeoutMs: 1000,
    });
    expect(new CircuitBreaker({ ...rated.options }).options).to.deep.equal(rated.options);
  });

  it('turns a policy off with 0 as with leaving it out', () => {
    const off = new CircuitBreaker({ name: 'x', callTimeoutMs: 0, slowCallMs: 0, slowCallRate: 0, failureRate: 0, windowSize: 0 });
    expect(off.options).to.deep.equal(new CircuitBreaker({ name: 'x' }).options);
  });
});

describe('BreakerOpenError', () => {
  it('is a real Error with a readable stack line and JSON form, though no stack is captured', async () => {
    const b = new CircuitBreaker({ name: 'db' });
    b.forceOpen();
    const err = await b.execute(async () => 1).catch((e) => e);
    expect(err).to.be.instanceOf(Error);
    expect(err.name).to.equal('BreakerOpenError');
    expect(err.stack).to.match(/^BreakerOpenError: Circuit breaker "db" is forced_open/);
    expect(JSON.parse(JSON.stringify(err))).to.include({ code: 'ECIRCUITOPEN', breaker: 'db', state: 'forced_open' });
    expect(inspect(err)).to.contain('forced_open');
  });
});

describe('BreakerOpenError output', () => {
  it('shows only the public fields when printed', async () => {
    const b = new CircuitBreaker({ name: 'db' });
    b.forceOpen();
    const err = await b.execute(async () => 1).catch((e) => e);
    expect(Object.keys(err).sort()).to.deep.equal(['breaker', 'code', 'state']);
    expect(inspect(err)).not.to.contain('clock');
  });
});

describe('CircuitBreaker: metrics_only and fallbacks', () => {
  it('hands failures to the caller unchanged instead of the fallback, while still counting them', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, mode: 'metrics_only', fallback: () => 'fallback' });
    const err = boom();
    expect(await b.execute(() => Promise.reject(err)).catch((e) => e)).to.equal(err);
    expect(b.state).to.equal('open');
    b.forceOpen();
    expect(await b.execute(async () => 1), 'an operator-forced rejection still falls back').to.equal('fallback');
  });
});

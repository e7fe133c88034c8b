import { expect } from 'chai';
import { BreakerTimeoutError, CircuitBreaker, type ResultHooks } from '../../../src/core';
import type { CallRecorder } from '../../../src/core';
import { callOptions, DEFAULT_OPERATION } from '../../../src/core/internal';
import { boom, deferred, FakeClock } from './fake-clock';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Outcome names recorded, in order. */
function recording(b: CircuitBreaker): string[] {
  const names = ['success', 'failure', 'ignored', 'rejected', 'timeout'];
  const seen: string[] = [];
  const recorder: CallRecorder = {
    record: (_op, outcome) => seen.push(names[outcome] ?? `bad index ${outcome}`),
    recordFallback: () => undefined,
  };
  b.recorder = recorder;
  return seen;
}

/** isFailure by message: "down" fails, "slow" times out, "aborted" says nothing, anything else was answered. */
function judge(err: unknown): boolean | 'timeout' | 'no_evidence' {
  const message = (err as Error).message;
  if (message === 'down') return true;
  if (message === 'slow') return 'timeout';
  if (message === 'aborted') return 'no_evidence';
  return false;
}

function reject(message: string): () => Promise<never> {
  return () => Promise.reject(boom(message));
}

async function openBreaker(b: CircuitBreaker, clock: FakeClock): Promise<void> {
  await b.execute(reject('down')).catch(() => undefined);
  expect(b.state).to.equal('open');
  clock.advance(100);
}

describe('CircuitBreaker: what counts as evidence', () => {
  it('a half-open trial that ends with no evidence frees its slot without closing; the next call is the trial', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 100, isFailure: judge, now: clock.now });
    const seen = recording(b);
    await openBreaker(b, clock);
    await b.execute(reject('aborted')).catch(() => undefined);
    expect(b.state).to.equal('half_open');
    expect(seen.at(-1)).to.equal('ignored');
    await b.execute(reject('down')).catch(() => undefined);
    expect(b.state, 'the next call was admitted as the trial').to.equal('open');
  });

  it('an error the dependency answered with still closes a half-open breaker', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 1, resetTimeoutMs: 100, isFailure: judge, now: clock.now });
    await openBreaker(b, clock);
    await b.execute(reject('constraint')).catch(() => undefined);
    expect(b.state).to.equal('closed');
  });

  it('a client-side timeout is a failure counted as timeout: it reopens a half-open breaker and opens a closed one', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 't', failureThreshold: 2, resetTimeoutMs: 100, isFailure: judge, now: clock.now });
    const seen = recording(b);
    await b.execute(reject('slow')).catch(() => undefined);
    await b.execute(reject('slow')).catch(() => undefined);
    expect(b.state).to.equal('open');
    expect(seen).to.deep.equal(['timeout', 'timeout']);
    clock.advance(100);
    await b.execute(reject('slow')).catch(() => undefined);
    expect(b.state).to.equal('open');
  });

  it('no evidence in closed state neither counts nor clears a failure streak, and gets no fallback', async () => {
    const b = new CircuitBreaker({ name: 't', failureThreshold: 2, isFailure: judge, fallback: () => 'fallback' });
    expect(await b.execute(reject('down'))).to.equal('fallback');
    const err = await b.execute(reject('aborted')).catch((e: Error) => e);
    expect((err as Error).message).to.equal('aborted');
    expect(b.consecutiveFailures).to.equal(1);
    await b.execute(reject('down'));
    expect(b.state).to.equal('open');
  });

  it('a success the hooks say touched nothing neither clears a streak nor closes a half-open breaker', async () => {
    const clock = new FakeClock();
    const idle: ResultHooks = { touched: (value) => value !== 'idle' };
    for (const timed of [false, true]) {
      const b = new CircuitBreaker({ name: 't', failureThreshold: 2, resetTimeoutMs: 100, now: clock.now });
      const seen = timed ? recording(b) : [];
      const call = (value: string): Promise<unknown> =>
        b.invoke(async () => value, undefined, [], DEFAULT_OPERATION, callOptions({ hooks: idle }));
      await b.execute(reject('down')).catch(() => undefined);
      await call('idle');
      await b.execute(reject('down')).catch(() => undefined);
      expect(b.state, `timed: ${timed}`).to.equal('open');
      clock.advance(100);
      await call('idle');
      expect(b.state).to.equal('half_open');
      await call('round trip');
      expect(b.state).to.equal('closed');
      if (timed) expect(seen).to.deep.equal(['failure', 'ignored', 'failure', 'ignored', 'success']);
    }
  });
});

describe('CircuitBreaker: results that arrive after ECIRCUITTIMEOUT', () => {
  it('hands a late promise result to disposeLate with the call receiver, once, and nothing in time', async () => {
    const disposed: unknown[][] = [];
    const hooks: ResultHooks = { disposeLate: (value, thisArg) => disposed.push([value, thisArg]) };
    const b = new CircuitBreaker({ name: 'slow', callTimeoutMs: 10 });
    const owner = { name: 'pool' };
    const late = deferred();
    const err = await b.invoke(() => late.promise, owner, [], DEFAULT_OPERATION, callOptions({ hooks: hooks })).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BreakerTimeoutError);
    late.resolve('client');
    await new Promise((r) => setTimeout(r, 5));
    expect(disposed).to.deep.equal([['client', owner]]);
    expect(await b.invoke(async () => 'in time', owner, [], DEFAULT_OPERATION, callOptions({ hooks: hooks }))).to.equal('in time');
    expect(disposed).to.have.length(1);
  });

  it('hands a late callback result to disposeLate; the caller is called back once, with the timeout', async () => {
    const disposed: unknown[] = [];
    const hooks: ResultHooks = { disposeLate: (value) => disposed.push(value) };
    const b = new CircuitBreaker({ name: 'slow', callTimeoutMs: 10 });
    let finish: AnyFunction = () => undefined;
    const calls: unknown[][] = [];
    await new Promise<void>((resolve) => {
      b.invokeCallback(
        function (this: unknown, cb: unknown) {
          finish = cb as AnyFunction;
        } as AnyFunction,
        undefined,
        [
          (...args: unknown[]) => {
            calls.push(args);
            resolve();
          },
        ],
        0,
        DEFAULT_OPERATION,
        callOptions({ hooks }),
      );
    });
    finish(undefined, 'fd 42');
    finish(boom('late error'));
    expect(calls).to.have.length(1);
    expect(calls[0][0]).to.be.instanceOf(BreakerTimeoutError);
    expect(disposed).to.deep.equal(['fd 42']);
  });

  it('keeps a throwing disposeLate away from the app', async () => {
    const hooks: ResultHooks = {
      disposeLate: () => {
        throw boom('cleanup failed');
      },
    };
    const b = new CircuitBreaker({ name: 'slow', callTimeoutMs: 5 });
    const late = deferred();
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await b.invoke(() => late.promise, undefined, [], DEFAULT_OPERATION, callOptions({ hooks: hooks })).catch(() => undefined);
      late.resolve('x');
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).to.deep.equal([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

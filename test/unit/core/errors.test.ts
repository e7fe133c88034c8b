import * as path from 'node:path';
import { inspect, types } from 'node:util';
import { expect } from 'chai';
import { BreakerOpenError, BreakerTimeoutError, CircuitBreaker } from '../../../src/core';
import { runNode } from '../../helpers/child-process';
import { FakeClock } from './fake-clock';

const REPO = path.resolve(__dirname, '..', '..', '..');

async function rejectionOf(b: CircuitBreaker): Promise<BreakerOpenError> {
  return (await b.execute(async () => 1).catch((e: unknown) => e)) as BreakerOpenError;
}

async function timeoutOf(): Promise<BreakerTimeoutError> {
  const b = new CircuitBreaker({ name: 'slow', callTimeoutMs: 1 });
  return (await b.execute(() => new Promise((resolve) => setTimeout(resolve, 50))).catch((e: unknown) => e)) as BreakerTimeoutError;
}

describe('breaker errors are native errors', () => {
  it('a rejection is a native Error with its own message and code', async () => {
    const b = new CircuitBreaker({ name: 'db' });
    b.forceOpen();
    const err = await rejectionOf(b);
    expect(types.isNativeError(err)).to.equal(true);
    expect(Object.prototype.toString.call(err)).to.equal('[object Error]');
    expect(err).to.be.instanceOf(BreakerOpenError);
    expect(Object.getOwnPropertyNames(err)).to.include.members(['message', 'code', 'breaker', 'state']);
    expect(err.code).to.equal('ECIRCUITOPEN');
    expect(err.message).to.match(/^Circuit breaker "db" is forced_open: .*ECIRCUITOPEN/);
  });

  it('a rejection survives structuredClone as an Error whose message still names the breaker and the code', async () => {
    const b = new CircuitBreaker({ name: 'db' });
    b.forceOpen();
    const err = await rejectionOf(b);
    const copy = structuredClone(err) as Error;
    expect(types.isNativeError(copy)).to.equal(true);
    expect(copy.message).to.equal(err.message);
    expect(copy.message).to.contain('"db"').and.to.contain('ECIRCUITOPEN');
  });

  it('a timeout is a native Error with its own message and code, also after structuredClone', async () => {
    const err = await timeoutOf();
    expect(types.isNativeError(err)).to.equal(true);
    expect(Object.getOwnPropertyNames(err)).to.include.members(['message', 'code']);
    expect(err.code).to.equal('ECIRCUITTIMEOUT');
    const copy = structuredClone(err) as Error;
    expect(types.isNativeError(copy)).to.equal(true);
    expect(copy.message).to.equal(err.message).and.to.contain('ECIRCUITTIMEOUT');
  });

  it('each rejection is its own object, so what one caller adds to it never reaches another', async () => {
    const b = new CircuitBreaker({ name: 'db' });
    b.forceOpen();
    const first = await rejectionOf(b);
    (first as unknown as { requestId: string }).requestId = 'r1';
    const second = await rejectionOf(b);
    expect(second).not.to.equal(first);
    expect((second as unknown as { requestId?: string }).requestId).to.equal(undefined);
  });

  it('keeps retryAfterMs counting down and out of what is printed', async () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker({ name: 'db', failureThreshold: 1, resetTimeoutMs: 10_000, now: clock.now });
    await b.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    const err = await rejectionOf(b);
    expect(err.retryAfterMs).to.equal(10_000);
    clock.advance(4_000);
    expect(err.retryAfterMs).to.equal(6_000);
    expect(inspect(err)).not.to.contain('clock');
    expect(Object.keys(err).sort()).to.deep.equal(['breaker', 'code', 'state']);
  });

  it('an unhandled rejection crashes the process with ECIRCUITOPEN in its output', async function () {
    this.timeout(20_000);
    const script = [
      `const { CircuitBreaker } = require(${JSON.stringify(path.join(REPO, 'dist', 'index.js'))});`,
      "const b = new CircuitBreaker({ name: 'db' });",
      'b.forceOpen();',
      'b.execute(async () => 1);',
    ].join('\n');
    const r = await runNode(['-e', script], { env: { NODE_OPTIONS: undefined } });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain('ECIRCUITOPEN');
    expect(r.stderr).to.contain('Circuit breaker "db" is forced_open');
  });
});

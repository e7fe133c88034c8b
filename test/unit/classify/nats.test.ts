import { expect } from 'chai';
import { isNatsFailure, natsFailureKind } from '../../../src/classify/nats';
import { cyclic, type FixtureCase, loadFixture, revive, revokedProxy, throwingGetter, trappingProxy } from './fixture-errors';

const fixture = loadFixture<{ capturedWith: Record<string, string>; cases: FixtureCase[] }>('nats-errors.json');

function natsError(code: string, message = code, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name: 'NatsError', code, ...extra });
}

function socketError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:4222`), { code, syscall: 'connect', errno: -1 });
}

describe('classify/nats: errors captured from nats ' + fixture.capturedWith.nats, () => {
  for (const c of fixture.cases) {
    const verdict = c.expected.failure ? 'counts as a failure' : 'is not counted';
    it(`${c.scenario} (${String(c.error.code)}) ${verdict} [${c.expected.kind}]`, () => {
      const err = revive(c.error);
      expect(isNatsFailure(err)).to.equal(c.expected.failure);
      expect(natsFailureKind(err)).to.equal(c.expected.kind);
    });
  }

  it('covers every scenario the design names', () => {
    const codes = new Set(fixture.cases.map((c) => c.error.code));
    for (const code of [
      'CONNECTION_REFUSED',
      'TIMEOUT',
      'DISCONNECT',
      'CONNECTION_CLOSED',
      '503',
      'PERMISSIONS_VIOLATION',
      'BAD_SUBJECT',
      'BAD_PAYLOAD',
      'BAD_JSON',
    ]) {
      expect(codes, code).to.include(code);
    }
    expect(fixture.cases.map((c) => c.id)).to.include.members([
      'jetstream-publish-without-js',
      'flush-server-down',
      'request-server-killed',
    ]);
  });
});

describe('classify/nats: synthetic cases', () => {
  it('counts raw socket errors the client passes through unwrapped', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']) {
      expect(isNatsFailure(socketError(code)), code).to.equal(true);
    }
    expect(natsFailureKind(socketError('ECONNRESET'))).to.equal('connection_reset');
    expect(natsFailureKind(socketError('ENOTFOUND'))).to.equal('dns');
  });

  it('looks through chainedError when the NatsError code itself says nothing', () => {
    const err = natsError('UNKNOWN_ERROR', 'reader closed', { chainedError: socketError('ECONNRESET') });
    expect(isNatsFailure(err)).to.equal(true);
  });

  it('trusts a known NatsError code over what it chains', () => {
    const err = natsError('BAD_JSON', 'Bad JSON', { chainedError: socketError('ECONNRESET') });
    expect(isNatsFailure(err)).to.equal(false);
  });

  it('follows cause and AggregateError members (happy-eyeballs connects)', () => {
    const agg = new AggregateError([socketError('ECONNREFUSED'), socketError('ECONNREFUSED')], '');
    expect(isNatsFailure(agg)).to.equal(true);
    expect(isNatsFailure(new Error('wrapped', { cause: natsError('DISCONNECT') }))).to.equal(true);
  });

  it('counts server -ERR messages that mean overload or a stale link, not other protocol errors', () => {
    expect(isNatsFailure(natsError('NATS_PROTOCOL_ERR', "'Stale Connection'"))).to.equal(true);
    expect(isNatsFailure(natsError('NATS_PROTOCOL_ERR', "'maximum connections exceeded'"))).to.equal(true);
    expect(natsFailureKind(natsError('NATS_PROTOCOL_ERR', "'Stale Connection'"))).to.equal('server_limit');
    expect(isNatsFailure(natsError('NATS_PROTOCOL_ERR', "'Unknown Protocol Operation'"))).to.equal(false);
    expect(natsFailureKind(natsError('NATS_PROTOCOL_ERR', "'Maximum Subscriptions Exceeded'"))).to.equal('protocol');
  });

  it('does not count the app racing its own drain, unsubscribe or cancel', () => {
    for (const code of ['CONNECTION_DRAINING', 'SUB_CLOSED', 'SUB_DRAINING', 'CANCELLED']) {
      expect(isNatsFailure(natsError(code)), code).to.equal(false);
      expect(natsFailureKind(natsError(code))).to.equal('lifecycle');
    }
  });

  it('does not count auth problems or JetStream answers', () => {
    for (const code of ['AUTHORIZATION_VIOLATION', 'AUTHENTICATION_EXPIRED', 'ACCOUNT_EXPIRED', '404', '408', '409', 'IDLE_HEARTBEAT']) {
      expect(isNatsFailure(natsError(code)), code).to.equal(false);
    }
    const apiError = natsError('400', 'bad request', { api_error: { code: 400, err_code: 10052 } });
    expect(natsFailureKind(apiError)).to.equal('jetstream');
  });

  it('does not count plain programming errors or unknown codes', () => {
    expect(isNatsFailure(new TypeError('x is not a function'))).to.equal(false);
    expect(isNatsFailure(natsError('SOMETHING_NEW'))).to.equal(false);
    expect(natsFailureKind(new RangeError('bad'))).to.equal('other');
  });

  it('never throws on values that are not errors', () => {
    const hostile = trappingProxy('get', 'has', 'getPrototypeOf');
    const revoked = revokedProxy();
    const throwingCode = throwingGetter('code');
    const cyclicChain = cyclic({ code: 'NOT_A_CODE' }, 'cause', 'chainedError');
    for (const v of [
      null,
      undefined,
      'CONNECTION_REFUSED',
      42,
      Symbol('x'),
      () => undefined,
      {},
      [],
      hostile,
      revoked,
      throwingCode,
      cyclicChain,
      { code: 503 },
      Object.freeze({ code: 'TIMEOUT' }),
    ]) {
      expect(() => isNatsFailure(v)).not.to.throw();
      expect(() => natsFailureKind(v)).not.to.throw();
    }
    expect(isNatsFailure('CONNECTION_REFUSED')).to.equal(false);
    expect(isNatsFailure({ code: 503 })).to.equal(false);
    expect(isNatsFailure(hostile)).to.equal(false);
    expect(isNatsFailure(cyclicChain)).to.equal(false);
    // Plain objects with a code are judged like errors: apps reject with those too.
    expect(isNatsFailure(Object.freeze({ code: 'TIMEOUT' }))).to.equal(true);
  });
});

import { expect } from 'chai';
import { isWsFailure, isWsFailureStatus, wsFailureKind, wsStatusFromError, wsVerdict } from '../../../src/classify/ws';
import { cyclic, type FixtureCase, loadFixture, revive, revokedProxy, throwingGetter, trappingProxy } from './fixture-errors';

const fixture = loadFixture<{
  capturedWith: Record<string, string>;
  cases: Array<
    FixtureCase<{ failure: boolean; kind: string; status: number | null }> & {
      observed: { via: 'event' | 'throw' | 'callback'; events: string[] };
    }
  >;
}>('ws-errors.json');

const unexpected = (status: number | string): Error => new Error(`Unexpected server response: ${status}`);

describe('classify/ws: errors captured from ws ' + fixture.capturedWith.ws, () => {
  for (const c of fixture.cases) {
    const verdict = c.expected.failure ? 'counts as a failure' : 'is not counted';
    it(`${c.scenario} ${verdict} [${c.expected.kind}]`, () => {
      const err = revive(c.error);
      expect(isWsFailure(err)).to.equal(c.expected.failure);
      expect(wsFailureKind(err)).to.equal(c.expected.kind);
      expect(wsStatusFromError(err)).to.equal(c.expected.status);
    });
  }

  it('covers every scenario the design names', () => {
    expect(fixture.cases.map((c) => c.id)).to.include.members([
      'connect-refused',
      'connect-reset',
      'upgrade-502',
      'upgrade-503',
      'upgrade-401',
      'upgrade-404',
      'handshake-timeout',
      'invalid-url',
    ]);
  });

  it('recorded that a failed connect emits error, then close 1006, asynchronously', () => {
    for (const c of fixture.cases.filter(
      (x) => x.id.startsWith('connect-') || x.id.startsWith('upgrade-') || x.id === 'handshake-timeout',
    )) {
      expect(c.observed, c.id).to.deep.equal({ via: 'event', events: ['error', 'close:1006'] });
    }
  });
});

describe('classify/ws: synthetic cases', () => {
  it('reads the status of an unexpected response, and only that', () => {
    expect(wsStatusFromError(unexpected(502))).to.equal(502);
    expect(wsStatusFromError(unexpected(401))).to.equal(401);
    expect(wsStatusFromError(unexpected(600))).to.equal(null);
    expect(wsStatusFromError(unexpected('50'))).to.equal(null);
    expect(wsStatusFromError(new Error('Unexpected server response: 502 '))).to.equal(null);
    expect(wsStatusFromError(new Error('proxy said Unexpected server response: 502'))).to.equal(null);
    expect(wsStatusFromError(null)).to.equal(null);
    expect(wsStatusFromError('Unexpected server response: 502')).to.equal(null);
  });

  it('counts every 5xx and no 4xx', () => {
    for (let s = 500; s <= 599; s++) expect(isWsFailure(unexpected(s)), String(s)).to.equal(true);
    for (let s = 400; s <= 499; s++) expect(isWsFailure(unexpected(s)), String(s)).to.equal(false);
    expect(isWsFailure(unexpected(301))).to.equal(false);
    expect(isWsFailureStatus(503)).to.equal(true);
    expect(isWsFailureStatus(429)).to.equal(false);
  });

  it('counts unreachable hosts and DNS failures', () => {
    for (const code of ['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']) {
      expect(isWsFailure(Object.assign(new Error(code), { code })), code).to.equal(true);
    }
  });

  it('counts a refused connect reported as an AggregateError (one member per address)', () => {
    const member = (addr: string): Error => Object.assign(new Error(`connect ECONNREFUSED ${addr}`), { code: 'ECONNREFUSED' });
    expect(isWsFailure(new AggregateError([member('::1:80'), member('127.0.0.1:80')], ''))).to.equal(true);
  });

  it('does not count handshake mismatches, TLS problems or frame errors from a live peer', () => {
    for (const message of [
      'Invalid Sec-WebSocket-Accept header',
      'Server sent no subprotocol',
      'Invalid Upgrade header',
      'Maximum redirects exceeded',
    ]) {
      expect(isWsFailure(new Error(message)), message).to.equal(false);
      expect(wsFailureKind(new Error(message))).to.equal('handshake_rejected');
    }
    for (const code of [
      'CERT_HAS_EXPIRED',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ]) {
      expect(wsFailureKind(Object.assign(new Error('tls'), { code }))).to.equal('tls');
    }
    for (const code of ['WS_ERR_INVALID_UTF8', 'WS_ERR_INVALID_CLOSE_CODE', 'WS_ERR_EXPECTED_MASK']) {
      expect(isWsFailure(Object.assign(new RangeError('frame'), { code })), code).to.equal(false);
    }
  });

  it('does not count ws 7 URL errors', () => {
    expect(wsFailureKind(new Error('Invalid URL: ws://'))).to.equal('invalid_argument');
    expect(wsFailureKind(Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL' }))).to.equal('invalid_argument');
  });

  it('does not count unknown errors', () => {
    expect(isWsFailure(new Error('something else'))).to.equal(false);
    expect(wsFailureKind(new Error('something else'))).to.equal('other');
  });

  it('never throws on values that are not errors', () => {
    const hostile = trappingProxy('get', 'getPrototypeOf');
    const revoked = revokedProxy();
    const throwingMessage = throwingGetter('message');
    const cyclicCause = cyclic({ message: 'x' }, 'cause');
    for (const v of [
      null,
      undefined,
      'ECONNREFUSED',
      502,
      Symbol('x'),
      {},
      hostile,
      revoked,
      throwingMessage,
      cyclicCause,
      { message: 42 },
    ]) {
      expect(() => isWsFailure(v)).not.to.throw();
      expect(() => wsFailureKind(v)).not.to.throw();
      expect(() => wsStatusFromError(v)).not.to.throw();
      expect(isWsFailure(v)).to.equal(false);
    }
  });
});

describe('classify/ws: what an error says about the peer (wsVerdict)', () => {
  it('agrees with isWsFailure on the captured errors, and says what the rest prove', () => {
    const answered = new Set(['client_status', 'unexpected_status', 'handshake_rejected', 'protocol']);
    for (const c of fixture.cases) {
      const err = revive(c.error);
      const verdict = wsVerdict(err);
      if (c.expected.kind === 'handshake_timeout') expect(verdict, c.id).to.equal('timeout');
      else if (c.expected.failure) expect(verdict, c.id).to.equal('failure');
      else expect(verdict, c.id).to.equal(answered.has(c.expected.kind) ? 'ignored' : 'no_evidence');
    }
  });

  it('a connect the app aborted before the handshake says nothing about the peer', () => {
    expect(wsVerdict(new Error('WebSocket was closed before the connection was established'))).to.equal('no_evidence');
  });

  it('a 4xx answer proves the peer is up; a handshake timeout is a timeout', () => {
    expect(wsVerdict(unexpected(404))).to.equal('ignored');
    expect(wsVerdict(new Error('Opening handshake has timed out'))).to.equal('timeout');
    expect(wsVerdict(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).to.equal('failure');
  });

  it('never throws on values that are not errors', () => {
    for (const v of [null, undefined, 'x', 42, revokedProxy()]) expect(wsVerdict(v)).to.equal('no_evidence');
  });
});

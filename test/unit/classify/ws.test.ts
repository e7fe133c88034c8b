import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { isWsFailure, isWsFailureStatus, wsFailureKind, wsStatusFromError } from '../../../src/classify/ws';

interface Summary {
  name?: string;
  message?: string;
  [key: string]: unknown;
}

interface FixtureCase {
  id: string;
  scenario: string;
  error: Summary;
  observed: { via: 'event' | 'throw' | 'callback'; events: string[] };
  expected: { failure: boolean; kind: string; status: number | null };
}

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'ws-errors.json'), 'utf8')) as {
  capturedWith: Record<string, string>;
  cases: FixtureCase[];
};

/** Rebuild an Error carrying the captured own properties (nested errors included). */
function revive(s: Summary): Error {
  const err = new Error(s.message);
  for (const [key, value] of Object.entries(s)) {
    if (key === 'className' || key === 'message') continue;
    if (key === 'cause') (err as unknown as Record<string, unknown>)[key] = revive(value as Summary);
    else if (key === 'errors') (err as unknown as Record<string, unknown>)[key] = (value as Summary[]).map(revive);
    else (err as unknown as Record<string, unknown>)[key] = value;
  }
  return err;
}

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
    for (const c of fixture.cases.filter((x) => x.id.startsWith('connect-') || x.id.startsWith('upgrade-') || x.id === 'handshake-timeout')) {
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
    for (const message of ['Invalid Sec-WebSocket-Accept header', 'Server sent no subprotocol', 'Invalid Upgrade header', 'Maximum redirects exceeded']) {
      expect(isWsFailure(new Error(message)), message).to.equal(false);
      expect(wsFailureKind(new Error(message))).to.equal('handshake_rejected');
    }
    for (const code of ['CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
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
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwingMessage = Object.defineProperty({}, 'message', {
      get() {
        throw new Error('getter');
      },
    });
    const cyclic: Record<string, unknown> = { message: 'x' };
    cyclic.cause = cyclic;
    for (const v of [null, undefined, 'ECONNREFUSED', 502, Symbol('x'), {}, hostile, revoked, throwingMessage, cyclic, { message: 42 }]) {
      expect(() => isWsFailure(v)).not.to.throw();
      expect(() => wsFailureKind(v)).not.to.throw();
      expect(() => wsStatusFromError(v)).not.to.throw();
      expect(isWsFailure(v)).to.equal(false);
    }
  });
});

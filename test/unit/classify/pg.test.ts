import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expect } from 'chai';
import { MAX_CHAIN_DEPTH } from '../../../src/classify/common';
import { isPgFailure, pgFailureKind, pgVerdict, PG_FAILURE_KINDS, type PgFailureKind } from '../../../src/classify/pg';
import type { CapturedCase, CapturedError } from '../../../scripts/capture-pg-errors';
import { loadFixture, revokedProxy } from './fixture-errors';

const fixtures = loadFixture<{ versions: Record<string, string>; cases: CapturedCase[] }>('pg-errors.json');

/** An Error shaped like the captured one: same class family, own fields, cause and errors. */
function rebuild(c: CapturedError): Error {
  const options = c.cause ? { cause: rebuild(c.cause) } : undefined;
  let err: Error;
  if (c.errors) err = new AggregateError(c.errors.map(rebuild), c.message, options);
  else if (c.constructor === 'TypeError') err = new TypeError(c.message, options);
  else if (c.constructor === 'RangeError') err = new RangeError(c.message, options);
  else err = new Error(c.message, options);
  for (const key of c.undefinedKeys) (err as unknown as Record<string, unknown>)[key] = undefined;
  Object.assign(err, c.own);
  return err;
}

/** The same fields on a bare object: classification must not depend on prototypes. */
function asPlainObject(c: CapturedError): Record<string, unknown> {
  return {
    ...c.own,
    name: c.name,
    message: c.message,
    ...(c.cause ? { cause: asPlainObject(c.cause) } : {}),
    ...(c.errors ? { errors: c.errors.map(asPlainObject) } : {}),
  };
}

function socketError(code: string, message = `connect ${code} 127.0.0.1:5432`): Error {
  return Object.assign(new Error(message), { errno: -1, code, syscall: 'connect', address: '127.0.0.1', port: 5432 });
}

function databaseError(code: string, message = 'server said no'): Error {
  return Object.assign(new Error(message), { name: 'error', length: 100, severity: 'ERROR', code });
}

describe('pg failure classification', () => {
  describe('errors captured from real servers (fixtures/pg-errors.json)', () => {
    it('the fixtures hold the cases the policy was decided on', () => {
      const ids = new Set(fixtures.cases.map((c) => c.id));
      for (const id of [
        'syntax_error',
        'undefined_table',
        'unique_violation',
        'not_null_violation',
        'division_by_zero',
        'invalid_text_representation',
        'serialization_failure',
        'deadlock_detected',
        'role_does_not_exist',
        'database_does_not_exist',
        'query_canceled_statement_timeout',
        'admin_shutdown_terminated_mid_query',
        'too_many_connections',
        'econnrefused',
        'terminated_unexpectedly_mid_query',
        'terminated_unexpectedly_server_killed',
        'pool_connect_timeout_blackhole',
        'pool_checkout_timeout',
        'cannot_connect_now_shutting_down',
      ]) {
        expect(ids, `fixture case ${id}`).to.include(id);
      }
    });

    for (const c of fixtures.cases) {
      const verdict = c.expected.failure ? `counts as an outage (${c.expected.kind})` : 'is not an outage';
      it(`${c.id}: ${verdict}`, () => {
        const err = rebuild(c.error);
        expect(err.name, 'rebuilt name').to.equal(c.error.name);
        expect(pgFailureKind(err)).to.equal(c.expected.kind);
        expect(isPgFailure(err)).to.equal(c.expected.failure);
      });
    }

    it('classifies the same when the fields sit on a plain object or a frozen error', () => {
      for (const c of fixtures.cases) {
        expect(pgFailureKind(asPlainObject(c.error)), `${c.id} as a plain object`).to.equal(c.expected.kind);
        expect(pgFailureKind(Object.freeze(rebuild(c.error))), `${c.id} frozen`).to.equal(c.expected.kind);
      }
    });
  });

  describe('SQLSTATE classes', () => {
    const outages: Array<[string, PgFailureKind]> = [
      ['08000', 'sqlstate_08'],
      ['08003', 'sqlstate_08'],
      ['08006', 'sqlstate_08'],
      ['08001', 'sqlstate_08'],
      ['08004', 'sqlstate_08'],
      ['08P01', 'sqlstate_08'],
      ['53000', 'sqlstate_53'],
      ['53100', 'sqlstate_53'],
      ['53200', 'sqlstate_53'],
      ['53300', 'sqlstate_53'],
      ['53400', 'sqlstate_53'],
      ['58000', 'sqlstate_58'],
      ['58030', 'sqlstate_58'],
      ['58P01', 'sqlstate_58'],
      ['57P01', 'sqlstate_57P01'],
      ['57P02', 'sqlstate_57P02'],
      ['57P03', 'sqlstate_57P03'],
    ];
    it('counts connection exceptions (08), insufficient resources (53), system errors (58) and shutdowns (57P01-57P03)', () => {
      for (const [code, kind] of outages) expect(pgFailureKind(databaseError(code)), code).to.equal(kind);
    });

    it('ignores errors that prove the server answered: SQL, data, constraints, auth, conflicts, cancels', () => {
      for (const code of [
        '42601',
        '42P01',
        '42703',
        '42501',
        '23505',
        '23503',
        '23502',
        '23514',
        '22012',
        '22P02',
        '22001',
        '28000',
        '28P01',
        '40001',
        '40P01',
        '57014',
        '57000',
        '57P04',
        '57P05',
        '25P02',
        '25001',
        '25006',
        '3D000',
        '0A000',
        'XX000',
        'P0001',
        '2BP01',
        '55P03',
        '00000',
      ]) {
        expect(isPgFailure(databaseError(code)), code).to.equal(false);
      }
    });

    it('goes by the code, not the message', () => {
      expect(isPgFailure(databaseError('42601', 'Connection terminated unexpectedly'))).to.equal(false);
      expect(pgFailureKind(databaseError('08006', 'syntax error'))).to.equal('sqlstate_08');
    });
  });

  describe('socket errors', () => {
    it('counts refused, reset, timed-out, unreachable, unresolvable and broken-pipe connections', () => {
      for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE']) {
        expect(pgFailureKind(socketError(code)), code).to.equal('socket');
      }
    });

    it('counts a name the resolver could not answer for (EAI_AGAIN: DNS down), as Node reports it', () => {
      const err = Object.assign(new Error('getaddrinfo EAI_AGAIN db.internal'), {
        errno: -3001,
        code: 'EAI_AGAIN',
        syscall: 'getaddrinfo',
        hostname: 'db.internal',
      });
      expect(pgFailureKind(err)).to.equal('socket');
      expect(pgVerdict(err)).to.equal('failure');
    });

    it('reads EPIPE as a socket error although it looks like a SQLSTATE', () => {
      expect(pgFailureKind({ code: 'EPIPE' })).to.equal('socket');
    });

    it('ignores other codes: file errors, Node argument errors, our own breaker errors', () => {
      for (const code of ['ENOENT', 'EACCES', 'EINVAL', 'ERR_INVALID_ARG_TYPE', 'ERR_SOCKET_CLOSED', 'ECIRCUITOPEN', 'ECIRCUITTIMEOUT']) {
        expect(isPgFailure(socketError(code)), code).to.equal(false);
      }
    });

    it('ignores a code that is not a string', () => {
      expect(isPgFailure({ code: 53300, message: 'x' })).to.equal(false);
      expect(isPgFailure({ code: new String('ECONNREFUSED') })).to.equal(false);
    });
  });

  describe("pg's own errors, matched by exact message", () => {
    const outages: Array<[string, PgFailureKind]> = [
      ['Connection terminated', 'terminated'],
      ['Connection terminated unexpectedly', 'terminated'],
      ['Connection terminated due to connection timeout', 'connect_timeout'],
      ['timeout expired', 'connect_timeout'],
      ['timeout exceeded when trying to connect', 'pool_timeout'],
      ['Client has encountered a connection error and is not queryable', 'not_queryable'],
      ['Query read timeout', 'query_timeout'],
    ];
    it('counts connection loss, connect and query timeouts, pool timeouts and broken clients', () => {
      for (const [message, kind] of outages) expect(pgFailureKind(new Error(message)), message).to.equal(kind);
    });

    it('ignores misuse and near-miss messages', () => {
      for (const message of [
        'Client was closed and is not queryable',
        'Client has already been connected. You cannot reuse a client.',
        'Cannot use a pool after calling end on the pool',
        'Release called on client which has already been released to the pool.',
        'Connection terminated by the application',
        'connection terminated unexpectedly',
        ' Connection terminated',
        '',
      ]) {
        expect(isPgFailure(new Error(message)), JSON.stringify(message)).to.equal(false);
      }
    });

    it('ignores argument errors (TypeError, RangeError) whatever their message', () => {
      expect(isPgFailure(new TypeError('Connection terminated'))).to.equal(false);
      expect(isPgFailure(new RangeError('timeout expired', { cause: socketError('ECONNREFUSED') }))).to.equal(false);
    });
  });

  describe('what an error says about the server (pgVerdict)', () => {
    it("calls pg's client-side timeouts waiting on the server timeouts", () => {
      for (const message of ['Query read timeout', 'timeout expired', 'Connection terminated due to connection timeout']) {
        expect(pgVerdict(new Error(message)), message).to.equal('timeout');
      }
    });

    it('calls outages failures', () => {
      expect(pgVerdict(socketError('ECONNREFUSED'))).to.equal('failure');
      expect(pgVerdict(databaseError('53300'))).to.equal('failure');
      expect(pgVerdict(new Error('timeout exceeded when trying to connect'))).to.equal('failure');
    });

    it('calls any other server answer ignored: the server is up', () => {
      for (const code of ['42601', '23505', '22012', '28P01', '40001', '40P01', '57014', '3D000']) {
        expect(pgVerdict(databaseError(code)), code).to.equal('ignored');
      }
      expect(pgVerdict(new Error('insert failed', { cause: databaseError('23505') }))).to.equal('ignored');
    });

    it('says nothing about misuse, argument errors, our own errors and unknown errors', () => {
      for (const err of [
        new Error('Client was closed and is not queryable'),
        new Error('Cannot use a pool after calling end on the pool'),
        new TypeError('Client was passed a null or undefined query'),
        socketError('ECIRCUITOPEN'),
        socketError('ECIRCUITTIMEOUT'),
        new Error('something else'),
        'a string',
        null,
      ]) {
        expect(pgVerdict(err), String(err)).to.equal('no_evidence');
      }
    });

    it('agrees with the captured fixtures: every outage counts, every SQLSTATE answer is ignored', () => {
      for (const c of fixtures.cases) {
        const verdict = pgVerdict(rebuild(c.error));
        const code = c.error.own.code;
        if (c.expected.failure) expect(['failure', 'timeout'], c.id).to.include(verdict);
        else expect(verdict, c.id).to.equal(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? 'ignored' : 'no_evidence');
      }
    });
  });

  describe('wrapped errors', () => {
    it('looks through cause, as pg-pool wraps a timed-out connect', () => {
      const appError = new Error('loading user failed', { cause: socketError('ECONNREFUSED') });
      expect(pgFailureKind(appError)).to.equal('socket');
    });

    it('looks into AggregateError.errors, as Node reports a connect that failed on every address', () => {
      const both = new AggregateError([socketError('ECONNREFUSED', 'connect ECONNREFUSED ::1:5432'), socketError('ECONNREFUSED')], '');
      expect(pgFailureKind(both)).to.equal('socket');
      const mixed = new AggregateError([new Error('something else'), socketError('ETIMEDOUT')], 'all failed');
      expect(pgFailureKind(mixed)).to.equal('socket');
      expect(isPgFailure(new AggregateError([new Error('a'), new Error('b')], 'all failed'))).to.equal(false);
    });

    it('lets the outer error decide when it has a code of its own', () => {
      const outer = Object.assign(new Error('conflict', { cause: socketError('ECONNRESET') }), { code: '40001' });
      expect(isPgFailure(outer)).to.equal(false);
    });

    it('stops on cyclic and very deep chains instead of walking forever', () => {
      const self = new Error('me');
      (self as Error & { cause: unknown }).cause = self;
      expect(isPgFailure(self)).to.equal(false);
      const a = new Error('a');
      const b = new Error('b', { cause: a });
      (a as Error & { cause: unknown }).cause = b;
      expect(isPgFailure(a)).to.equal(false);

      let deep: Error = socketError('ECONNREFUSED');
      for (let i = 0; i < MAX_CHAIN_DEPTH + 1; i++) deep = new Error(`level ${i}`, { cause: deep });
      expect(isPgFailure(deep)).to.equal(false);
      let shallow: Error = socketError('ECONNREFUSED');
      for (let i = 0; i < MAX_CHAIN_DEPTH; i++) shallow = new Error(`level ${i}`, { cause: shallow });
      expect(isPgFailure(shallow)).to.equal(true);
    });

    it('looks at only the first few entries of a huge errors array', () => {
      const errors = new Array<unknown>(1_000_000);
      errors[999_999] = socketError('ECONNREFUSED');
      expect(isPgFailure({ errors })).to.equal(false);
    });
  });

  describe('inputs that are not errors', () => {
    const throwing = (): never => {
      throw new Error('getter threw');
    };
    const revoked = revokedProxy();
    const weird: Array<[string, unknown]> = [
      ['null', null],
      ['undefined', undefined],
      ['empty string', ''],
      ['a string naming a socket code', 'ECONNREFUSED'],
      ['a string naming a pg message', 'Connection terminated unexpectedly'],
      ['a number', 53300],
      ['a boolean', true],
      ['a symbol', Symbol('ECONNREFUSED')],
      ['a bigint', 10n],
      ['a function', () => undefined],
      ['an array', ['ECONNREFUSED']],
      ['an empty object', {}],
      ['a null-prototype object', Object.create(null)],
      [
        'an object whose getters throw',
        Object.defineProperties(
          {},
          {
            code: { get: throwing },
            message: { get: throwing },
            name: { get: throwing },
            cause: { get: throwing },
            errors: { get: throwing },
          },
        ),
      ],
      ['a proxy whose every trap throws', new Proxy({}, { get: throwing, has: throwing, ownKeys: throwing, getPrototypeOf: throwing })],
      ['a revoked proxy', revoked],
      ['an error whose errors array is a revoked proxy', Object.assign(new Error('x'), { errors: revoked })],
      ['an errors array whose entries throw', { errors: Object.defineProperty([], '0', { get: throwing }) }],
    ];

    for (const [label, value] of weird) {
      it(`never throws and says "not a failure" for ${label}`, () => {
        expect(() => pgFailureKind(value)).not.to.throw();
        expect(isPgFailure(value)).to.equal(false);
        expect(pgFailureKind(value)).to.equal(null);
      });
    }

    it('still classifies frozen, sealed and null-prototype errors by their fields', () => {
      expect(isPgFailure(Object.freeze({ code: 'ECONNREFUSED' }))).to.equal(true);
      expect(isPgFailure(Object.seal(socketError('ECONNRESET')))).to.equal(true);
      expect(isPgFailure(Object.assign(Object.create(null), { code: '57P01' }))).to.equal(true);
    });

    it('uses a getter that works even when others on the same object throw', () => {
      const err = Object.defineProperties(
        {},
        {
          code: { get: () => '53300' },
          message: { get: throwing },
        },
      );
      expect(pgFailureKind(err)).to.equal('sqlstate_53');
    });
  });

  it('only ever answers with a label from PG_FAILURE_KINDS', () => {
    const seen = new Set<string>();
    for (const c of fixtures.cases) {
      const kind = pgFailureKind(rebuild(c.error));
      if (kind !== null) seen.add(kind);
    }
    for (const kind of seen) expect(PG_FAILURE_KINDS).to.include(kind);
    expect(Object.isFrozen(PG_FAILURE_KINDS)).to.equal(true);
  });

  it('loads without loading pg', () => {
    const root = path.join(__dirname, '..', '..', '..');
    const script =
      "require('./src/classify/pg');" +
      'const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](pg|pg-pool|pg-protocol)[\\\\/]/.test(f));' +
      'process.stdout.write(JSON.stringify(loaded));';
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(JSON.parse(out)).to.deep.equal([]);
  });
});

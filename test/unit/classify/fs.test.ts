import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { fsFailureKind, isFsFailure } from '../../../src/classify/fs';

interface Summary {
  name?: string;
  message?: string;
  [key: string]: unknown;
}

interface FixtureCase {
  id: string;
  scenario: string;
  error: Summary;
  expected: { failure: boolean; kind: string };
}

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'fs-errors.json'), 'utf8')) as {
  capturedWith: Record<string, string>;
  cases: FixtureCase[];
};

/** Rebuild an Error carrying the captured own properties. */
function revive(s: Summary): Error {
  const err = new Error(s.message);
  for (const [key, value] of Object.entries(s)) {
    if (key === 'className' || key === 'message') continue;
    (err as unknown as Record<string, unknown>)[key] = key === 'cause' ? revive(value as Summary) : value;
  }
  return err;
}

const sysError = (code: string): Error => Object.assign(new Error(`${code}: synthetic, open '/data/x'`), { code, errno: -1, syscall: 'open', path: '/data/x' });

describe('classify/fs: errors captured on Node ' + fixture.capturedWith.node, () => {
  for (const c of fixture.cases) {
    const verdict = c.expected.failure ? 'counts as a failure' : 'is not counted';
    it(`${c.scenario} (${String(c.error.code)}) ${verdict}`, () => {
      const err = revive(c.error);
      expect(isFsFailure(err)).to.equal(c.expected.failure);
      expect(fsFailureKind(err)).to.equal(c.expected.kind);
    });
  }

  it('covers every scenario the design names', () => {
    const codes = new Set(fixture.cases.map((c) => c.error.code));
    for (const code of ['ENOSPC', 'EMFILE', 'ENOENT', 'EEXIST', 'EISDIR', 'ENOTDIR', 'EACCES', 'ERR_INVALID_ARG_TYPE']) {
      expect(codes, code).to.include(code);
    }
  });
});

describe('classify/fs: synthetic cases', () => {
  it('counts the failures that cannot be produced on a dev machine', () => {
    for (const code of ['EROFS', 'ENFILE', 'EDQUOT', 'ESTALE', 'ETIMEDOUT', 'EIO', 'EBUSY']) {
      expect(isFsFailure(sysError(code)), code).to.equal(true);
      expect(fsFailureKind(sysError(code))).to.equal(code);
    }
  });

  it('does not count answers about one path', () => {
    for (const code of ['ENOENT', 'EEXIST', 'EISDIR', 'ENOTDIR', 'EACCES', 'EPERM', 'EINVAL', 'ENOTEMPTY', 'ELOOP', 'EXDEV', 'EBADF']) {
      expect(isFsFailure(sysError(code)), code).to.equal(false);
    }
  });

  it('does not count argument errors or unknown codes', () => {
    expect(fsFailureKind(sysError('ERR_OUT_OF_RANGE'))).to.equal('ERR_ARGUMENT');
    expect(isFsFailure(sysError('ERR_FS_FILE_TOO_LARGE'))).to.equal(false);
    expect(isFsFailure(sysError('ENOMEM'))).to.equal(false);
    expect(fsFailureKind(sysError('ENOMEM'))).to.equal('other');
    expect(isFsFailure(new Error('EIO'))).to.equal(false);
  });

  it('counts a failure wrapped as the cause of another error', () => {
    expect(isFsFailure(new Error('could not save', { cause: sysError('ENOSPC') }))).to.equal(true);
  });

  it('never throws on values that are not errors', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const throwingCode = Object.defineProperty({}, 'code', {
      get() {
        throw new Error('getter');
      },
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.cause = cyclic;
    for (const v of [null, undefined, 'ENOSPC', -28, Symbol('x'), {}, hostile, revoked, throwingCode, cyclic, { code: -28 }]) {
      expect(() => isFsFailure(v)).not.to.throw();
      expect(isFsFailure(v)).to.equal(false);
      expect(fsFailureKind(v)).to.equal('other');
    }
  });
});

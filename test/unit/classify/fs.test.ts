import { expect } from 'chai';
import { fsFailureKind, fsVerdict, isFsFailure } from '../../../src/classify/fs';
import { cyclic, type FixtureCase, loadFixture, revive, revokedProxy, throwingGetter, trappingProxy } from './fixture-errors';

const fixture = loadFixture<{ capturedWith: Record<string, string>; cases: FixtureCase[] }>('fs-errors.json');

const sysError = (code: string): Error =>
  Object.assign(new Error(`${code}: synthetic, open '/data/x'`), { code, errno: -1, syscall: 'open', path: '/data/x' });

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

  it('tells the breaker that argument errors are no evidence, and errno answers are the file system answering', () => {
    expect(fsVerdict(sysError('ENOSPC'))).to.equal('failure');
    expect(fsVerdict(sysError('ERR_INVALID_ARG_VALUE'))).to.equal('no_evidence');
    expect(fsVerdict(sysError('ENOENT'))).to.equal('ignored');
    expect(fsVerdict(sysError('ENOMEM'))).to.equal('ignored');
    expect(fsVerdict(null)).to.equal('ignored');
  });

  it('counts a failure wrapped as the cause of another error', () => {
    expect(isFsFailure(new Error('could not save', { cause: sysError('ENOSPC') }))).to.equal(true);
  });

  it('never throws on values that are not errors', () => {
    const hostile = trappingProxy('get');
    const revoked = revokedProxy();
    const throwingCode = throwingGetter('code');
    const cyclicCause = cyclic({}, 'cause');
    for (const v of [null, undefined, 'ENOSPC', -28, Symbol('x'), {}, hostile, revoked, throwingCode, cyclicCause, { code: -28 }]) {
      expect(() => isFsFailure(v)).not.to.throw();
      expect(isFsFailure(v)).to.equal(false);
      expect(fsFailureKind(v)).to.equal('other');
    }
  });
});

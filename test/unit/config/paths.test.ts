import { expect } from 'chai';
import { compilePathMatcher, resolveGlob } from '../../../src/config';

describe('config paths', () => {
  it('resolves relative globs against the working directory', () => {
    expect(resolveGlob('./data/**', '/srv/app')).to.equal('/srv/app/data/**');
    expect(resolveGlob('data/*.json', '/srv/app')).to.equal('/srv/app/data/*.json');
    expect(resolveGlob('../shared/**', '/srv/app')).to.equal('/srv/shared/**');
  });

  it('keeps absolute globs, normalised', () => {
    expect(resolveGlob('/var/lib//x/**', '/srv/app')).to.equal('/var/lib/x/**');
  });

  it('reads a trailing slash as everything under the directory', () => {
    expect(resolveGlob('./uploads/', '/srv/app')).to.equal('/srv/app/uploads/**');
  });

  it('matches absolute paths under a glob, dot files included', () => {
    const match = compilePathMatcher(['/srv/app/data/**', '/tmp/*.lock']);
    expect(match('/srv/app/data/a.json')).to.equal(true);
    expect(match('/srv/app/data/deep/er/b.bin')).to.equal(true);
    expect(match('/srv/app/data/.hidden/c')).to.equal(true);
    expect(match('/tmp/x.lock')).to.equal(true);
    expect(match('/srv/app/database.db')).to.equal(false);
    expect(match('/srv/app/other/a.json')).to.equal(false);
    expect(match('/tmp/sub/x.lock')).to.equal(false);
  });

  it('matches nothing with no globs', () => {
    expect(compilePathMatcher([])('/anything')).to.equal(false);
  });
});

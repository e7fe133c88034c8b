import { mkdtempSync, rmSync } from 'node:fs';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { compilePathMatcher, VALID_OPERATIONS } from '../../../src/config';
import { FS_OPERATIONS, type FsOperationShape } from '../../../src/instrumentation/fs-operations';
import { compilePathRoots, fsPathOf } from '../../../src/instrumentation/fs-paths';

describe('fs patcher: which path a call acts on', () => {
  it('takes absolute strings as they are, normalised', () => {
    expect(fsPathOf('/srv/data/a.json')).to.equal('/srv/data/a.json');
    expect(fsPathOf('/srv/data/../data//b/')).to.equal('/srv/data/b');
  });

  it('normalises every absolute spelling exactly as path.resolve does', () => {
    const spellings = [
      '/',
      '//',
      '/a',
      '/a/',
      '/a//b',
      '/a/./b',
      '/a/../b',
      '/a/b/..',
      '/a/b/.',
      '/.hidden',
      '/a/.git/x',
      '/a/...',
      '/a/..b',
      '/a/b.',
      '/a/b..',
      '/a b/c',
      '/ä/ö',
      '/a\\b',
      '/a/b/c/d/e/f/g/h/i/j.k',
    ];
    for (const p of spellings) expect(fsPathOf(p), p).to.equal(resolve(p));
  });

  it('resolves relative strings against the working directory at call time', () => {
    expect(fsPathOf('data/a.json')).to.equal(resolve(process.cwd(), 'data/a.json'));
    expect(fsPathOf('./x/../y')).to.equal(resolve(process.cwd(), 'y'));
  });

  it('reads Buffers and Uint8Arrays as UTF-8 paths', () => {
    expect(fsPathOf(Buffer.from('/srv/data/ä.txt'))).to.equal('/srv/data/ä.txt');
    expect(fsPathOf(new TextEncoder().encode('/srv/x'))).to.equal('/srv/x');
    const slice = Buffer.from('xx/srv/y').subarray(2);
    expect(fsPathOf(slice)).to.equal('/srv/y');
  });

  it('reads file: URLs, including URL-like objects Node accepts', () => {
    expect(fsPathOf(new URL('file:///srv/data/a%20b.txt'))).to.equal('/srv/data/a b.txt');
    expect(fsPathOf(pathToFileURL('/srv/data/c'))).to.equal('/srv/data/c');
    expect(fsPathOf({ href: 'file:///srv/d', protocol: 'file:' })).to.equal('/srv/d');
  });

  it('leaves to Node whatever it will not use as a path, so its errors stay its own', () => {
    expect(fsPathOf(3), 'file descriptor').to.equal(null);
    expect(fsPathOf(''), 'empty string').to.equal(null);
    expect(fsPathOf('/srv/a\u0000b'), 'NUL byte').to.equal(null);
    expect(fsPathOf(Buffer.from('/srv/a\u0000b')), 'NUL byte in a Buffer').to.equal(null);
    expect(fsPathOf(new URL('http://example.com/srv')), 'http URL').to.equal(null);
    expect(fsPathOf(new URL('file://remote-host/srv')), 'file URL with a host').to.equal(null);
    expect(fsPathOf(new URL('file:///srv/a%2Fb')), 'encoded slash').to.equal(null);
    expect(fsPathOf({ fd: 3, close() {} }), 'FileHandle-like object').to.equal(null);
    expect(fsPathOf(undefined)).to.equal(null);
    expect(fsPathOf(null)).to.equal(null);
    expect(fsPathOf(10n)).to.equal(null);
    const hostile = {
      get href(): string {
        throw new Error('boom');
      },
      protocol: 'file:',
    };
    expect(fsPathOf(hostile), 'throwing getter').to.equal(null);
  });
});

describe('fs patcher: per-target path roots', () => {
  it('uses the first segment under the base of the glob that covers the path', () => {
    const rootOf = compilePathRoots(['/srv/**']);
    expect(rootOf('/srv/data/rooms/a.json')).to.equal('/srv/data');
    expect(rootOf('/srv/data')).to.equal('/srv/data');
    expect(rootOf('/srv/top.json')).to.equal('/srv/top.json');
    expect(rootOf('/srv')).to.equal('/srv');
  });

  it('prefers the longest base when globs nest, and treats a literal glob as its own root', () => {
    const rootOf = compilePathRoots(['/srv/**', '/srv/data/*.json', '/dev/full']);
    expect(rootOf('/srv/data/a.json')).to.equal('/srv/data/a.json');
    expect(rootOf('/srv/logs/x.log')).to.equal('/srv/logs');
    expect(rootOf('/dev/full')).to.equal('/dev/full');
  });

  it('cuts wildcards out of the base and copes with the file-system root', () => {
    expect(compilePathRoots(['/a/{b,c}/**'])('/a/b/x/y')).to.equal('/a/b');
    expect(compilePathRoots(['/**'])('/var/lib/x')).to.equal('/var');
  });

  it('has no root for a path outside every base (the parent breaker is used)', () => {
    expect(compilePathRoots(['/srv/**'])('/srvx/a')).to.equal(null);
  });

  it('agrees with the matcher on where a glob starts', () => {
    const globs = ['/srv/app/data/**'];
    const matches = compilePathMatcher(globs);
    const rootOf = compilePathRoots(globs);
    for (const p of ['/srv/app/data/a', '/srv/app/data/x/y/z', '/srv/app/data']) {
      expect(matches(p), p).to.equal(true);
      expect(rootOf(p), p).to.not.equal(null);
    }
  });
});

describe('fs patcher: operation shapes', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-shapes-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('covers exactly the operations the config accepts', () => {
    expect(FS_OPERATIONS.map((o) => o.name)).to.have.members([...VALID_OPERATIONS.fs]);
  });

  /** `args` with each 'CB' replaced by a function that notes its position when called. */
  function withCallbacks(args: unknown[], called: number[]): unknown[] {
    return args.map((a, i) => (a === 'CB' ? () => called.push(i) : a));
  }

  /** Which of the functions among `args` Node itself calls back (or 'throws'). */
  function nodeCalls(op: FsOperationShape, args: unknown[]): Promise<number | 'throws'> {
    return new Promise((done) => {
      const called: number[] = [];
      const withMarkers = withCallbacks(args, called);
      const original = (fs as unknown as Record<string, (...a: unknown[]) => unknown>)[op.name];
      try {
        original(...withMarkers);
      } catch {
        done('throws');
        return;
      }
      // Wait for the first callback however loaded the machine is, then give a second one
      // the time a double call would take to show up.
      const deadline = Date.now() + 5000;
      const poll = (): void => {
        if (called.length === 0 && Date.now() < deadline) {
          setTimeout(poll, 5);
          return;
        }
        setTimeout(() => done(called.length === 1 ? called[0] : -1), 30);
      };
      poll();
    });
  }

  it('finds the callback where Node looks for it, for every argument pattern', async () => {
    const missing = join(dir, 'missing');
    const other = join(dir, 'other');
    let compared = 0;
    for (const op of FS_OPERATIONS) {
      const lead: unknown[] =
        op.paths === 2 ? [missing, other] : op.name === 'writeFile' || op.name === 'appendFile' ? [missing + '/x', 'data'] : [missing];
      const slot = op.name === 'open' ? 'r' : op.name === 'copyFile' ? 0 : op.name === 'access' ? fs.constants.F_OK : {};
      const patterns: unknown[][] = [
        [...lead, 'CB'],
        [...lead, 'CB', 'CB'],
        [...lead, undefined, 'CB'],
        [...lead, slot, 'CB'],
        [...lead, slot, 'CB', 'CB'],
      ];
      for (const args of patterns) {
        const called = await nodeCalls(op, args);
        if (called === 'throws') continue;
        const label = `${op.name}(${args.map((a) => (a === 'CB' ? 'fn' : (JSON.stringify(a) ?? 'undefined'))).join(', ')})`;
        expect(called, `${label}: Node called no callback or several`).to.not.equal(-1);
        expect(op.callbackIndex(withCallbacks(args, [])), label).to.equal(called);
        compared++;
      }
    }
    expect(compared, 'patterns Node accepted').to.be.at.least(FS_OPERATIONS.length * 4);
  });
});

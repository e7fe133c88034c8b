/**
 * The fixtures pin the shapes Node had when they were captured; these produce the same
 * errors on the Node running the tests, so a Node upgrade that renames a code fails here.
 */
import { existsSync, mkdtempSync, promises as fsp, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { isFsFailure } from '../../../src/classify/fs';
import { runNode } from '../../helpers/child-process';

async function rejection(p: Promise<unknown>): Promise<NodeJS.ErrnoException> {
  try {
    await p;
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
  throw new Error('expected a rejection');
}

describe('classify/fs: errors produced now, on this Node', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-live-'));
    writeFileSync(join(dir, 'file.txt'), 'x');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('counts a full disk (ENOSPC from /dev/full)', async function () {
    if (!existsSync('/dev/full')) this.skip();
    const err = await rejection(fsp.writeFile('/dev/full', 'x'));
    expect(err.code).to.equal('ENOSPC');
    expect(isFsFailure(err)).to.equal(true);
  });

  it('counts running out of file descriptors (EMFILE under ulimit -n 32)', async () => {
    const script = `
      const fs = require('fs'); const held = [];
      try { for (;;) held.push(fs.openSync('/dev/null', 'r')); }
      catch (e) { console.log(JSON.stringify({ code: e.code, errno: e.errno, syscall: e.syscall, message: e.message })); }`;
    const r = await runNode(['-e', script], { ulimitNofile: 32, timeoutMs: 15_000 });
    expect(r.code, r.stderr).to.equal(0);
    const err = Object.assign(new Error(), JSON.parse(r.stdout.trim()) as object) as NodeJS.ErrnoException;
    expect(err.code).to.equal('EMFILE');
    expect(isFsFailure(err)).to.equal(true);
  });

  it('does not count a missing file, an existing file, a directory or a bad argument', async () => {
    const errors = [
      await rejection(fsp.readFile(join(dir, 'missing'))),
      await rejection(fsp.open(join(dir, 'file.txt'), 'wx')),
      await rejection(fsp.readFile(dir)),
      await rejection(fsp.readdir(join(dir, 'file.txt'))),
      await rejection(fsp.readFile({} as unknown as string)),
    ];
    expect(errors.map((e) => e.code)).to.deep.equal(['ENOENT', 'EEXIST', 'EISDIR', 'ENOTDIR', 'ERR_INVALID_ARG_TYPE']);
    for (const e of errors) expect(isFsFailure(e), e.code).to.equal(false);
  });
});

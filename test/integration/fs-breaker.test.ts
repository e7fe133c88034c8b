/**
 * The file_system breaker on the real fs of this process, with real faults: /dev/full
 * answers every write with ENOSPC.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { BreakerOpenError } from '../../src/core';
import { isWrapped } from '../../src/instrumentation/wrap';
import { checkService } from '../helpers/require-services';
import { errorShape, viaCallback, viaPromise, viaSync } from '../fixtures/fs/calls';
import { ALL_FS_OPERATIONS, fsBreakerYaml, guardFs, type GuardedFs } from '../fixtures/fs/harness';

/** Every write to /dev/full fails with ENOSPC: a full disk on demand (Linux). */
async function devFullAvailable(): Promise<void> {
  if (!existsSync('/dev/full')) throw new Error('/dev/full does not exist on this system');
}

/** Opens the breaker with `threshold` real ENOSPC failures, through the callback form. */
async function fillDisk(g: GuardedFs, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const r = await viaCallback((cb) => g.fs.writeFile('/dev/full', 'x', cb));
    expect((r.args[0] as NodeJS.ErrnoException).code).to.equal('ENOSPC');
  }
}

describe('fs patcher: file_system breaker on real files', function () {
  let dir: string;
  let guardedDir: string;
  let outsideDir: string;
  let g: GuardedFs;

  before(async function () {
    await checkService(this, '/dev/full', devFullAvailable);
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-'));
    guardedDir = join(dir, 'guarded');
    outsideDir = join(dir, 'outside');
    mkdirSync(guardedDir);
    mkdirSync(outsideDir);
    writeFileSync(join(guardedDir, 'file.txt'), 'guarded data');
    writeFileSync(join(outsideDir, 'file.txt'), 'outside data');
    g = guardFs(fsBreakerYaml(['/dev/full', `${guardedDir}/**`], { failure_threshold: 3, timeout: 60, sync: true }), dir);
  });

  after(() => {
    g?.instrumentation.disable();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    g.registry.clear();
  });

  it('patches fs and fs/promises in place, keeping names and lengths', () => {
    for (const name of ALL_FS_OPERATIONS) {
      expect(isWrapped(g.fs, name), `fs.${name}`).to.equal(true);
      expect(isWrapped(g.fs, `${name}Sync`), `fs.${name}Sync`).to.equal(true);
      expect(isWrapped(g.fs.promises, name), `fs.promises.${name}`).to.equal(true);
      expect(g.fs[name as 'readFile'].name).to.equal(name);
    }
    expect(g.fs.readFile.length).to.equal(3);
    expect(isWrapped(g.fs, 'writeSync'), 'not an operation').to.equal(false);
    const load = createRequire(__filename);
    expect(load('node:fs/promises'), 'fs/promises is fs.promises').to.equal(g.fs.promises);
    expect(load('fs')).to.equal(g.fs);
  });

  it('opens after failure_threshold ENOSPC failures from a full disk', async () => {
    await fillDisk(g, 2);
    expect(g.breaker().state).to.equal('closed');
    const third = await viaPromise(() => g.fs.promises.writeFile('/dev/full', 'x'));
    expect((third.rejected as NodeJS.ErrnoException).code).to.equal('ENOSPC');
    expect(g.breaker().state).to.equal('open');
    expect(g.totals()).to.include({ failure: 3, success: 0, rejected: 0 });
  });

  it('then rejects every form with ECIRCUITOPEN, without touching the disk', async () => {
    await fillDisk(g, 3);
    const target = join(guardedDir, 'never-written.txt');

    const cb = await viaCallback((done) => g.fs.writeFile(target, 'x', done));
    expect(cb.sync, 'callback deferred').to.equal(false);
    expect(cb.calls).to.equal(1);
    expect(cb.args).to.have.length(1);
    const err = cb.args[0] as BreakerOpenError;
    expect(err).to.be.instanceOf(BreakerOpenError);
    expect(err.code).to.equal('ECIRCUITOPEN');
    expect(err.breaker).to.equal('file_system');
    expect(err.retryAfterMs).to.be.within(1, 60_000);

    const p = await viaPromise(() => g.fs.promises.writeFile(target, 'x'));
    expect(p.isPromise).to.equal(true);
    expect((p.rejected as BreakerOpenError).code).to.equal('ECIRCUITOPEN');

    const s = viaSync(() => g.fs.writeFileSync(target, 'x'));
    expect((s.thrown as BreakerOpenError).code).to.equal('ECIRCUITOPEN');

    const read = await viaCallback((done) => g.fs.readFile(join(guardedDir, 'file.txt'), 'utf8', done));
    expect((read.args[0] as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    const mk = await viaPromise(() => g.fs.promises.mkdir(join(guardedDir, 'new-dir')));
    expect((mk.rejected as BreakerOpenError).code).to.equal('ECIRCUITOPEN');

    expect(existsSync(target), 'no file created').to.equal(false);
    expect(existsSync(join(guardedDir, 'new-dir')), 'no directory created').to.equal(false);
    expect(g.totals().rejected).to.equal(5);
  });

  it('keeps paths outside `paths` working while open', async () => {
    await fillDisk(g, 3);
    const file = join(outsideDir, 'file.txt');
    const cb = await viaCallback((done) => g.fs.readFile(file, 'utf8', done));
    expect(cb.args).to.deep.equal([null, 'outside data']);
    expect(await g.fs.promises.readFile(file, 'utf8')).to.equal('outside data');
    g.fs.writeFileSync(join(outsideDir, 'new.txt'), 'ok');
    expect(g.fs.readFileSync(join(outsideDir, 'new.txt'), 'utf8')).to.equal('ok');
    await g.fs.promises.rename(join(outsideDir, 'new.txt'), join(outsideDir, 'renamed.txt'));
    expect(g.totals().rejected).to.equal(0);
  });

  it('guards the opens of read and write streams, which report a refusal as a stream error', async () => {
    const file = join(guardedDir, 'file.txt');
    const read = async (): Promise<string> => {
      let data = '';
      for await (const chunk of g.fs.createReadStream(file, 'utf8')) data += chunk;
      return data;
    };
    expect(await read()).to.equal('guarded data');
    expect(g.calls('open')).to.equal(1);
    await fillDisk(g, 3);
    const err = await read().then(
      () => null,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(err?.code).to.equal('ECIRCUITOPEN');
    const ws = g.fs.createWriteStream(join(guardedDir, 'stream.txt'));
    const wsErr = await new Promise<NodeJS.ErrnoException>((resolve) => ws.on('error', resolve));
    expect(wsErr.code).to.equal('ECIRCUITOPEN');
    expect(existsSync(join(guardedDir, 'stream.txt'))).to.equal(false);
  });

  it('guards rename and copyFile when either path is guarded', async () => {
    await fillDisk(g, 3);
    const from = join(outsideDir, 'file.txt');
    const to = join(guardedDir, 'copy.txt');
    const copy = await viaPromise(() => g.fs.promises.copyFile(from, to));
    expect((copy.rejected as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    const move = await viaCallback((done) => g.fs.rename(join(guardedDir, 'file.txt'), join(outsideDir, 'moved.txt'), done));
    expect((move.args[0] as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    expect(existsSync(to)).to.equal(false);
    expect(existsSync(join(guardedDir, 'file.txt'))).to.equal(true);
  });

  it('matches Buffer and file: URL paths, and relative paths against the current directory', async () => {
    const full = await viaCallback((done) => g.fs.writeFile(Buffer.from('/dev/full'), 'x', done));
    expect((full.args[0] as NodeJS.ErrnoException).code).to.equal('ENOSPC');
    const url = await viaPromise(() => g.fs.promises.writeFile(new URL('file:///dev/full'), 'x'));
    expect((url.rejected as NodeJS.ErrnoException).code).to.equal('ENOSPC');
    expect(g.totals().failure).to.equal(2);

    const cwd = process.cwd();
    try {
      process.chdir(guardedDir);
      expect(await g.fs.promises.readFile('file.txt', 'utf8')).to.equal('guarded data');
      expect(g.calls('readFile')).to.equal(1);
      process.chdir(outsideDir);
      expect(await g.fs.promises.readFile('file.txt', 'utf8')).to.equal('outside data');
      expect(g.calls('readFile'), 'a relative path outside is not guarded').to.equal(1);
    } finally {
      process.chdir(cwd);
    }
    const viaUrl = await viaCallback((done) => g.fs.stat(pathToFileURL(join(guardedDir, 'file.txt')), done));
    expect(viaUrl.args[0]).to.equal(null);
    expect(g.calls('stat')).to.equal(1);
  });

  it('does not guard calls made with a file descriptor', async () => {
    const fd = g.fs.openSync(join(guardedDir, 'file.txt'), 'r');
    const fullFd = g.fs.openSync('/dev/full', 'w');
    try {
      g.breaker().forceOpen();
      const read = await viaCallback((done) => g.fs.readFile(fd, 'utf8', done));
      expect(read.args).to.deep.equal([null, 'guarded data']);
      const write = await viaCallback((done) => g.fs.writeFile(fullFd, 'x', done));
      expect((write.args[0] as NodeJS.ErrnoException).code, 'reaches the disk').to.equal('ENOSPC');
      expect(g.totals()).to.include({ rejected: 0, failure: 0 });
    } finally {
      g.fs.closeSync(fd);
      g.fs.closeSync(fullFd);
    }
  });

  it('passes ENOENT, EEXIST and EISDIR through unchanged and never opens for them', async () => {
    const missing = join(guardedDir, 'missing.txt');
    const existing = join(guardedDir, 'file.txt');
    const errors: NodeJS.ErrnoException[] = [];
    for (let i = 0; i < 3; i++) {
      errors.push((await viaCallback((done) => g.fs.readFile(missing, done))).args[0] as NodeJS.ErrnoException);
      errors.push((await viaPromise(() => g.fs.promises.mkdir(guardedDir))).rejected as NodeJS.ErrnoException);
      errors.push(viaSync(() => g.fs.readFileSync(guardedDir)).thrown as NodeJS.ErrnoException);
      errors.push((await viaPromise(() => g.fs.promises.open(existing, 'wx'))).rejected as NodeJS.ErrnoException);
    }
    expect(errors.map((e) => e.code)).to.deep.equal(Array(3).fill(['ENOENT', 'EEXIST', 'EISDIR', 'EEXIST']).flat());
    const first = errors[0];
    expect(first).to.be.instanceOf(Error);
    expect(errorShape(first)).to.deep.include({
      code: 'ENOENT',
      errno: -2,
      syscall: 'open',
      path: missing,
      message: `ENOENT: no such file or directory, open '${missing}'`,
    });
    expect(g.breaker().state).to.equal('closed');
    expect(g.totals()).to.include({ ignored: 12, failure: 0, rejected: 0 });
  });

  it("serves readFile from the fallback while open, with the call's arguments and the error", async () => {
    await fillDisk(g, 3);
    const seen: unknown[][] = [];
    g.breaker().fallback((...args: unknown[]) => {
      seen.push(args);
      return `cached:${String(args[0])}`;
    });
    const file = join(guardedDir, 'file.txt');

    const cb = await viaCallback((done) => g.fs.readFile(file, 'utf8', done));
    expect(cb.args).to.deep.equal([null, `cached:${file}`]);
    expect(cb.sync).to.equal(false);
    expect(await g.fs.promises.readFile(file, { encoding: 'utf8' })).to.equal(`cached:${file}`);
    expect(g.fs.readFileSync(file, 'utf8')).to.equal(`cached:${file}`);

    expect(seen).to.have.length(3);
    expect(seen[0].slice(0, 2)).to.deep.equal([file, 'utf8']);
    expect(seen[1].slice(0, 2)).to.deep.equal([file, { encoding: 'utf8' }]);
    expect(seen[2].slice(0, 2)).to.deep.equal([file, 'utf8']);
    for (const args of seen) expect((args[2] as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    expect(g.registry.entry('file_system').stats.fallbackSuccesses).to.equal(3);
  });

  it('throws argument errors synchronously, exactly as fs does, even while open', async () => {
    await fillDisk(g, 3);
    const file = join(guardedDir, 'file.txt');
    const noCallback = viaSync(() => (g.fs.readFile as unknown as (p: string) => void)(file));
    expect((noCallback.thrown as NodeJS.ErrnoException).code).to.equal('ERR_INVALID_ARG_TYPE');
    const badPath = viaSync(() => g.fs.readFile({} as string, () => undefined));
    expect((badPath.thrown as NodeJS.ErrnoException).code).to.equal('ERR_INVALID_ARG_TYPE');
    const nul = viaSync(() => g.fs.readFile(`${file}\u0000`, () => undefined));
    expect((nul.thrown as NodeJS.ErrnoException).code).to.equal('ERR_INVALID_ARG_VALUE');
    const p = await viaPromise(() => g.fs.promises.readFile(42n as unknown as string));
    expect(p.thrown).to.equal(undefined);
    expect((p.rejected as NodeJS.ErrnoException).code).to.equal('ERR_INVALID_ARG_TYPE');
  });

  it('guards nothing after disable() and everything again after enable()', async () => {
    const before = Object.getOwnPropertyDescriptor(g.fs, 'readFile');
    const leaked = g.fs.readFile;
    g.instrumentation.disable();
    try {
      expect(isWrapped(g.fs, 'readFile')).to.equal(false);
      expect(isWrapped(g.fs.promises, 'writeFile')).to.equal(false);
      expect(Object.getOwnPropertyDescriptor(g.fs, 'readFile')?.value).to.not.equal(before?.value);
      g.breaker().forceOpen();
      const file = join(guardedDir, 'file.txt');
      expect(await g.fs.promises.readFile(file, 'utf8')).to.equal('guarded data');
      // A reference taken while patched now behaves like the original.
      const viaLeaked = await viaCallback((done) => leaked(file, 'utf8', done));
      expect(viaLeaked.args).to.deep.equal([null, 'guarded data']);
      expect(g.totals().rejected).to.equal(0);
    } finally {
      g.instrumentation.enable();
    }
    expect(isWrapped(g.fs, 'readFile')).to.equal(true);
    expect(isWrapped(g.fs.promises, 'writeFile')).to.equal(true);
    const r = await viaPromise(() => g.fs.promises.readFile(join(guardedDir, 'file.txt')));
    expect((r.rejected as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
  });

  describe('with a list of operations and no sync guarding', () => {
    let o: GuardedFs;

    before(() => {
      g.instrumentation.disable();
      o = guardFs(fsBreakerYaml(['/dev/full', `${guardedDir}/**`], { failure_threshold: 1, operations: ['readFile', 'stat'] }), dir);
    });

    after(() => {
      o?.instrumentation.disable();
      g.instrumentation.enable();
    });

    it('wraps every async form of the listed operations and nothing else', async () => {
      for (const name of ['readFile', 'stat']) {
        expect(isWrapped(o.fs, name), name).to.equal(true);
        expect(isWrapped(o.fs.promises, name), `promises.${name}`).to.equal(true);
        expect(isWrapped(o.fs, `${name}Sync`), `${name}Sync`).to.equal(false);
      }
      for (const name of ['writeFile', 'open', 'rm']) {
        expect(isWrapped(o.fs, name), name).to.equal(false);
        expect(isWrapped(o.fs.promises, name), `promises.${name}`).to.equal(false);
      }
      const write = await viaPromise(() => o.fs.promises.writeFile('/dev/full', 'x'));
      expect((write.rejected as NodeJS.ErrnoException).code).to.equal('ENOSPC');
      expect(o.totals().failure, 'writeFile is not guarded').to.equal(0);
      o.breaker().forceOpen();
      expect(o.fs.readFileSync(join(guardedDir, 'file.txt'), 'utf8'), 'sync forms are not guarded').to.equal('guarded data');
      const read = await viaPromise(() => o.fs.promises.readFile(join(guardedDir, 'file.txt')));
      expect((read.rejected as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    });
  });

  describe('with per_target', () => {
    let t: GuardedFs;
    let root: string;

    before(() => {
      g.instrumentation.disable();
      root = join(dir, 'targets');
      for (const name of ['a', 'b', 'c', 'd', 'e']) mkdirSync(join(root, name, 'rooms'), { recursive: true });
      // Matching is lexical: the link is judged by its own path, and writes through it hit the full device.
      symlinkSync('/dev/full', join(root, 'a', 'full'));
      t = guardFs(fsBreakerYaml([`${root}/**`], { failure_threshold: 2, timeout: 60, per_target: true, max_targets: 3 }), dir);
    });

    after(() => {
      t?.instrumentation.disable();
      g.instrumentation.enable();
    });

    it('opens only the breaker of the failing path root', async () => {
      for (let i = 0; i < 2; i++) {
        const r = await viaCallback((done) => t.fs.writeFile(join(root, 'a', 'full'), 'x', done));
        expect((r.args[0] as NodeJS.ErrnoException).code).to.equal('ENOSPC');
      }
      expect(t.breaker(`file_system@${root}/a`).state).to.equal('open');
      expect(t.breaker().state).to.equal('closed');
      const blocked = await viaPromise(() => t.fs.promises.writeFile(join(root, 'a', 'rooms', 'x.json'), '{}'));
      expect((blocked.rejected as BreakerOpenError).breaker).to.equal(`file_system@${root}/a`);
      await t.fs.promises.writeFile(join(root, 'b', 'rooms', 'x.json'), '{}');
      expect(t.totals(`file_system@${root}/b`)).to.include({ success: 1 });
    });

    it('keeps the number of children within max_targets', async () => {
      for (const name of ['b', 'c', 'd', 'e', 'b', 'c']) await t.fs.promises.stat(join(root, name, 'rooms'));
      const children = t.registry.list().filter((e) => e.parent === 'file_system');
      expect(children.length).to.be.at.most(3);
      expect(
        children.map((c) => c.target),
        'the open child is never evicted',
      ).to.include(`${root}/a`);
    });
  });
});

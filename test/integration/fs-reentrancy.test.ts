/**
 * Node's fs functions call each other (appendFile → writeFile → open, rm → lstat/readdir/
 * unlink/rmdir), and fallbacks may read files too: one user call counts once, and nothing
 * recurses.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import type { BreakerOpenError } from '../../src/core';
import { runNode } from '../helpers/child-process';
import { viaCallback, viaPromise } from '../fixtures/fs/calls';
import { ALL_FS_OPERATIONS, fsBreakerYaml, guardFs, type GuardedFs } from '../fixtures/fs/harness';

const REPO = resolve(__dirname, '../..');

describe('fs patcher: calls fs makes to itself count once', function () {
  let dir: string;
  let g: GuardedFs;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-nesting-'));
    g = guardFs(fsBreakerYaml([`${dir}/**`], { failure_threshold: 1000, sync: true }), dir);
  });

  after(() => {
    g?.instrumentation.disable();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    g.registry.clear();
  });

  it('counts appendFile once, not as the writeFile and open it calls', async () => {
    const file = join(dir, 'log.txt');
    await viaCallback((cb) => g.fs.appendFile(file, 'a', cb));
    await g.fs.promises.appendFile(file, 'b');
    g.fs.appendFileSync(file, Buffer.from('c'));
    g.fs.appendFileSync(file, 'd', { encoding: 'latin1' });
    expect(g.fs.readFileSync(file, 'utf8')).to.equal('abcd');
    expect(g.calls('appendFile')).to.equal(4);
    expect(g.calls('writeFile')).to.equal(0);
    expect(g.calls('open')).to.equal(0);
  });

  it('counts readFileSync once, not as the openSync it calls', () => {
    const file = join(dir, 'data.bin');
    writeFileSync(file, 'xyz');
    expect(g.fs.readFileSync(file).toString()).to.equal('xyz');
    expect(g.calls('readFile')).to.equal(1);
    expect(g.calls('open')).to.equal(0);
  });

  it('counts a recursive rm once in every form', async () => {
    const tree = (name: string): string => {
      const root = join(dir, name);
      mkdirSync(join(root, 'a', 'b'), { recursive: true });
      writeFileSync(join(root, 'a', 'b', 'f.txt'), 'x');
      writeFileSync(join(root, 'g.txt'), 'x');
      return root;
    };
    const cb = await viaCallback((done) => g.fs.rm(tree('t1'), { recursive: true }, done));
    expect(cb.args).to.deep.equal([null]);
    await g.fs.promises.rm(tree('t2'), { recursive: true });
    g.fs.rmSync(tree('t3'), { recursive: true });
    expect(g.calls('rm')).to.equal(3);
    for (const inner of ['lstat', 'stat', 'readdir', 'unlink', 'rmdir']) expect(g.calls(inner), inner).to.equal(0);
  });

  it("counts a recursive rm once when Node's rimraf holds our wrappers (fresh process)", async function () {
    this.timeout(60_000);
    const run = async (operations: readonly string[]): Promise<{ gone: boolean; calls: Record<string, number> }> => {
      const sub = mkdtempSync(join(dir, 'child-'));
      const r = await runNode(['-r', 'tsx/cjs', 'test/fixtures/fs/rm-tree-child.ts'], {
        cwd: REPO,
        env: { BBX_DIR: sub, BBX_OPERATIONS: JSON.stringify(operations) },
      });
      expect(r.code, r.stderr).to.equal(0);
      return JSON.parse(r.stdout.trim()) as { gone: boolean; calls: Record<string, number> };
    };
    // Without rm guarded, rimraf's own calls reach the wrappers: the case worth guarding against.
    const witness = await run(ALL_FS_OPERATIONS.filter((op) => op !== 'rm'));
    expect(witness.gone).to.equal(true);
    expect(witness.calls.unlink, 'rimraf calls the patched fs.unlink').to.be.greaterThan(1);
    expect(witness.calls.rmdir).to.be.greaterThan(0);

    const guarded = await run(ALL_FS_OPERATIONS);
    expect(guarded.gone).to.equal(true);
    expect(guarded.calls).to.deep.equal({ rm: 2, lstat: 0, stat: 0, readdir: 0, unlink: 1, rmdir: 0 });
  });

  it('lets a fallback read guarded files without recursing, in every form', async () => {
    const backup = join(dir, 'backup.txt');
    writeFileSync(backup, 'from backup');
    const file = join(dir, 'live.txt');
    g.breaker().forceOpen();
    g.breaker().fallback(() => g.fs.readFileSync(backup, 'utf8'));
    const cb = await viaCallback((done) => g.fs.readFile(file, 'utf8', done));
    expect(cb.args).to.deep.equal([null, 'from backup']);
    expect(g.fs.readFileSync(file, 'utf8')).to.equal('from backup');

    g.breaker().fallback(() => g.fs.promises.readFile(backup, 'utf8'));
    expect(await g.fs.promises.readFile(file, 'utf8')).to.equal('from backup');

    g.breaker().fallback(
      (_path: unknown, _enc: unknown, err: unknown) =>
        new Promise((ok, fail) =>
          g.fs.readFile(backup, 'utf8', (e, data) => (e ? fail(e) : ok(`${data} after ${(err as BreakerOpenError).code}`))),
        ),
    );
    expect(await g.fs.promises.readFile(file, 'utf8')).to.equal('from backup after ECIRCUITOPEN');

    expect(g.totals().rejected).to.equal(4);
    expect(g.registry.entry('file_system').stats.fallbackSuccesses).to.equal(4);
  });

  it("still guards the app's calls in a callback Node runs synchronously", async () => {
    // Node 20 calls readdir's callback before returning when `recursive` is set.
    mkdirSync(join(dir, 'walk', 'x'), { recursive: true });
    let inner: Promise<unknown> | null = null;
    const r = await viaCallback((done) =>
      g.fs.readdir(join(dir, 'walk'), { recursive: true }, (err, names) => {
        inner = viaCallback((cb) => g.fs.stat(join(dir, 'walk', 'x'), cb));
        done(err, names);
      }),
    );
    await inner;
    expect(r.args[0]).to.equal(null);
    expect(g.calls('readdir')).to.equal(1);
    expect(g.calls('stat'), 'the stat made from inside the callback').to.equal(1);
  });

  it('counts calls that overlap in time separately', async () => {
    const files = Array.from({ length: 20 }, (_, i) => join(dir, `c${i}.txt`));
    await Promise.all(files.map((f, i) => (i % 2 ? g.fs.promises.writeFile(f, 'x') : viaCallback((cb) => g.fs.writeFile(f, 'x', cb)))));
    await Promise.all(files.map((f) => viaPromise(() => g.fs.promises.readFile(f))));
    expect(g.calls('writeFile')).to.equal(20);
    expect(g.calls('readFile')).to.equal(20);
    expect(g.calls('open')).to.equal(0);
  });
});

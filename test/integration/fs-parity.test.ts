/**
 * While the breaker is closed, a guarded fs call must be indistinguishable from the bare one:
 * the same results, the same errors (class, code, errno, syscall, path, message, own keys),
 * the same side effects on disk, callbacks once and as (a)synchronously as Node calls them,
 * promises that are promises, and the same argument errors thrown at the same moment.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { constants as fsConstants, Dirent, Stats, type promises as fsPromises } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { errorShape, viaCallback, viaPromise, viaSync } from '../fixtures/fs/calls';
import { fsBreakerYaml, guardFs, type GuardedFs } from '../fixtures/fs/harness';

type AnyFn = (...args: unknown[]) => unknown;

interface Case {
  op: string;
  /** Arguments before the callback; `p(name)` paths are under the test directory. */
  args: () => unknown[];
  /** Forms to run; default all three. */
  forms?: Array<'callback' | 'promise' | 'sync'>;
}

const CB = Symbol('the callback goes here');

describe('fs patcher: behaviour parity while closed', function () {
  let dir: string;
  const p = (name: string): string => join(dir, name);
  let g: GuardedFs;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  function layout(): void {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'file.txt'), 'hello');
    writeFileSync(join(dir, 'sub', 'inner.txt'), 'inner');
    writeFileSync(join(dir, 'sub', 'deeper', 'x'), 'x');
  }

  /** Everything under the test directory, with file contents: the side effects of a call. */
  function snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name of (readdirSync(dir, { recursive: true }) as string[]).sort()) {
      const st = statSync(join(dir, name));
      out[name] = st.isDirectory() ? 'dir' : `file:${readFileSync(join(dir, name), 'latin1')}:${(st.mode & 0o777).toString(8)}`;
    }
    return out;
  }

  /** Results in a form two runs can be compared by (descriptors and handles closed on the way). */
  async function plain(value: unknown): Promise<unknown> {
    if (value instanceof Stats) return { stats: true, file: value.isFile(), dir: value.isDirectory(), size: value.size, mode: value.mode };
    if (
      typeof value === 'object' &&
      value !== null &&
      'isFile' in value &&
      typeof (value as unknown as { size: unknown }).size === 'bigint'
    ) {
      const s = value as { isFile(): boolean; size: bigint };
      return { bigintStats: true, file: s.isFile(), size: String(s.size) };
    }
    if (value instanceof Dirent) return { dirent: value.name, dir: value.isDirectory() };
    if (Buffer.isBuffer(value)) return { buffer: value.toString('hex') };
    if (Array.isArray(value)) {
      const items = await Promise.all(value.map(plain));
      return items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    }
    if (typeof value === 'object' && value !== null && typeof (value as fsPromises.FileHandle).close === 'function' && 'fd' in value) {
      await (value as fsPromises.FileHandle).close();
      return 'FileHandle';
    }
    return value;
  }

  const fdsToClose: number[] = [];
  async function plainFd(op: string, value: unknown): Promise<unknown> {
    if (op === 'open' && typeof value === 'number') {
      fdsToClose.push(value);
      return 'fd';
    }
    return plain(value);
  }

  const cases: Case[] = [
    { op: 'readFile', args: () => [p('file.txt')] },
    { op: 'readFile', args: () => [p('file.txt'), 'utf8'] },
    { op: 'readFile', args: () => [p('file.txt'), { encoding: 'base64', flag: 'r' }] },
    { op: 'readFile', args: () => [Buffer.from(p('file.txt')), { encoding: 'latin1' }] },
    { op: 'readFile', args: () => [pathToFileURL(p('file.txt')), 'utf8'] },
    { op: 'readFile', args: () => [p('missing.txt')] },
    { op: 'readFile', args: () => [p('sub')] },
    { op: 'readFile', args: () => [p('file.txt'), { flag: 'wx' }] },
    { op: 'readFile', args: () => [p('file.txt'), 'no-such-encoding'] },
    { op: 'readFile', args: () => [p('file.txt'), { flag: 'bogus' }] },
    { op: 'readFile', args: () => [{ not: 'a path' }] },
    { op: 'readFile', args: () => [`${p('file.txt')}\u0000`] },
    { op: 'writeFile', args: () => [p('new.txt'), 'data'] },
    { op: 'writeFile', args: () => [p('new.txt'), 'dätä', { encoding: 'latin1', flag: 'a', mode: 0o600 }] },
    { op: 'writeFile', args: () => [p('file.txt'), Buffer.from('buf'), { flag: 'wx' }] },
    { op: 'writeFile', args: () => [p('file.txt'), new Uint8Array([65, 66])] },
    { op: 'writeFile', args: () => [p('nodir/x.txt'), 'd'] },
    { op: 'writeFile', args: () => [p('sub'), 'x'] },
    { op: 'writeFile', args: () => [p('file.txt'), 42] },
    { op: 'appendFile', args: () => [p('file.txt'), ' more'] },
    { op: 'appendFile', args: () => [p('file.txt'), ' more', { flag: 'a+', encoding: 'utf8' }] },
    { op: 'appendFile', args: () => [p('fresh.txt'), 'first', 'utf8'] },
    { op: 'appendFile', args: () => [p('sub'), 'x'] },
    { op: 'stat', args: () => [p('file.txt')] },
    { op: 'stat', args: () => [p('sub'), { bigint: true }] },
    { op: 'stat', args: () => [p('missing')] },
    { op: 'lstat', args: () => [p('file.txt')] },
    { op: 'lstat', args: () => [p('file.txt/x')] },
    { op: 'readdir', args: () => [p('sub')] },
    { op: 'readdir', args: () => [p('sub'), { withFileTypes: true }] },
    { op: 'readdir', args: () => [p('sub'), { recursive: true }] },
    { op: 'readdir', args: () => [p('sub'), 'buffer'] },
    { op: 'readdir', args: () => [p('file.txt')] },
    { op: 'readdir', args: () => [p('missing')] },
    { op: 'mkdir', args: () => [p('newdir')] },
    { op: 'mkdir', args: () => [p('newdir'), 0o700] },
    { op: 'mkdir', args: () => [p('sub')] },
    { op: 'mkdir', args: () => [p('a/b/c'), { recursive: true }] },
    { op: 'mkdir', args: () => [p('sub'), { recursive: true }] },
    { op: 'mkdir', args: () => [p('missing/x')] },
    { op: 'rm', args: () => [p('file.txt')] },
    { op: 'rm', args: () => [p('sub'), { recursive: true }] },
    { op: 'rm', args: () => [p('sub')] },
    { op: 'rm', args: () => [p('missing')] },
    { op: 'rm', args: () => [p('missing'), { force: true }] },
    { op: 'rmdir', args: () => [p('empty')] },
    { op: 'rmdir', args: () => [p('sub')] },
    { op: 'unlink', args: () => [p('file.txt')] },
    { op: 'unlink', args: () => [p('sub')] },
    { op: 'unlink', args: () => [p('missing')] },
    { op: 'rename', args: () => [p('file.txt'), p('renamed.txt')] },
    { op: 'rename', args: () => [p('missing'), p('x')] },
    { op: 'rename', args: () => [p('sub'), p('file.txt')] },
    { op: 'rename', args: () => [p('file.txt'), join(tmpdir(), 'breakerbox-parity-no-such-dir', 'x')] },
    { op: 'copyFile', args: () => [p('file.txt'), p('copy.txt')] },
    { op: 'copyFile', args: () => [p('file.txt'), p('sub/inner.txt'), fsConstants.COPYFILE_EXCL] },
    { op: 'copyFile', args: () => [p('missing'), p('x')] },
    { op: 'access', args: () => [p('file.txt')] },
    { op: 'access', args: () => [p('file.txt'), fsConstants.R_OK | fsConstants.W_OK] },
    { op: 'access', args: () => [p('missing')] },
    { op: 'open', args: () => [p('file.txt')] },
    { op: 'open', args: () => [p('file.txt'), 'r'] },
    { op: 'open', args: () => [p('file.txt'), 'wx'] },
    { op: 'open', args: () => [p('new.bin'), 'w', 0o640] },
    // Callback-only argument errors: no callback, or something else where it belongs.
    { op: 'readFile', args: () => [p('file.txt'), CB, 'not a callback'], forms: ['callback'] },
    { op: 'stat', args: () => [p('file.txt'), {}, 'not a callback'], forms: ['callback'] },
    { op: 'mkdir', args: () => [p('x')], forms: ['callback'] },
  ];

  async function runCase(c: Case, form: 'callback' | 'promise' | 'sync'): Promise<unknown> {
    layout();
    const fs = g.fs as unknown as Record<string, AnyFn> & { promises: Record<string, AnyFn> };
    let outcome: unknown;
    if (form === 'callback') {
      const args = c.args();
      const r = await viaCallback((cb) => {
        const full = args.includes(CB) ? args.map((a) => (a === CB ? cb : a)) : c.forms ? args : [...args, cb];
        return fs[c.op](...full);
      });
      outcome = {
        thrown: errorShape(r.thrown),
        calls: r.calls,
        sync: r.sync,
        error: errorShape(r.args[0]),
        results: await Promise.all(r.args.slice(1).map((v) => plainFd(c.op, v))),
      };
    } else if (form === 'promise') {
      const r = await viaPromise(() => fs.promises[c.op](...c.args()));
      outcome = { thrown: errorShape(r.thrown), isPromise: r.isPromise, error: errorShape(r.rejected), value: await plain(r.fulfilled) };
    } else {
      const r = viaSync(() => fs[`${c.op}Sync`](...c.args()));
      outcome = { error: errorShape(r.thrown), value: await plainFd(c.op, r.returned) };
    }
    for (const fd of fdsToClose.splice(0)) g.fs.closeSync(fd);
    return { outcome, disk: snapshot() };
  }

  async function runAll(): Promise<Map<string, unknown>> {
    const results = new Map<string, unknown>();
    for (const [i, c] of cases.entries()) {
      for (const form of c.forms ?? (['callback', 'promise', 'sync'] as const)) {
        results.set(`#${i} ${form} ${c.op}(${describeArgs(c.args())})`, await runCase(c, form));
      }
    }
    return results;
  }

  function describeArgs(args: unknown[]): string {
    return args
      .map((a) =>
        a === CB
          ? 'cb'
          : typeof a === 'string'
            ? a.replace(dir, '<dir>')
            : Buffer.isBuffer(a)
              ? 'Buffer'
              : a instanceof URL
                ? 'URL'
                : JSON.stringify(a),
      )
      .join(', ');
  }

  let bare: Map<string, unknown>;
  let guarded: Map<string, unknown>;

  before(async function () {
    this.timeout(120_000);
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-parity-'));
    process.on('unhandledRejection', onUnhandled);
    g = guardFs(fsBreakerYaml([`${dir}/**`], { failure_threshold: 1, sync: true }), dir);
    g.instrumentation.disable();
    bare = await runAll();
    g.instrumentation.enable();
    guarded = await runAll();
  });

  after(() => {
    process.off('unhandledRejection', onUnhandled);
    g?.instrumentation.disable();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('really went through the breaker when enabled', () => {
    const totals = g.totals();
    // failure_threshold 1: a single counted failure would have opened it and failed the rest.
    expect(g.breaker().state).to.equal('closed');
    expect(totals.failure).to.equal(0);
    expect(totals.rejected).to.equal(0);
    expect(totals.success + totals.ignored).to.be.greaterThan(cases.length * 2);
    expect(totals.ignored).to.be.greaterThan(20);
  });

  it('gives identical results, errors and side effects in every form', () => {
    expect([...guarded.keys()]).to.deep.equal([...bare.keys()]);
    for (const [key, expected] of bare) expect(guarded.get(key), key).to.deep.equal(expected);
  });

  it('calls each callback exactly once, or never when the call threw', () => {
    for (const [key, value] of guarded) {
      if (!key.includes(' callback ')) continue;
      const { outcome } = value as { outcome: { thrown: unknown; calls: number } };
      expect(outcome.calls, key).to.equal(outcome.thrown === null ? 1 : 0);
    }
  });

  it('covers the interesting shapes: sync throws, async errors, synchronous callbacks', () => {
    const outcomes = [...guarded.entries()]
      .filter(([k]) => k.includes(' callback '))
      .map(([, v]) => (v as { outcome: { thrown: unknown; sync: boolean; error: unknown } }).outcome);
    expect(
      outcomes.some((o) => o.thrown !== null),
      'an argument error thrown synchronously',
    ).to.equal(true);
    expect(
      outcomes.some((o) => o.error !== null && !o.sync),
      'an fs error delivered asynchronously',
    ).to.equal(true);
    expect(
      outcomes.some((o) => (o.error as { dest?: string } | null)?.dest !== undefined),
      'a two-path error (rename)',
    ).to.equal(true);
    expect(
      outcomes.some((o) => (o.error as { class?: string } | null)?.class === 'SystemError'),
      'a SystemError (rm on a directory)',
    ).to.equal(true);
  });

  it('leaves no unhandled rejections', async () => {
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).to.deep.equal([]);
  });
});

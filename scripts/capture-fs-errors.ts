/**
 * Produces real `fs` errors on this machine and records them in
 * test/unit/classify/fixtures/fs-errors.json, each with the classification we decided it
 * must get (DESIGN.md §3).
 *
 *   npx tsx scripts/capture-fs-errors.ts
 *
 * Written for Linux as root (our dev machines and CI): EACCES comes from sysfs, which
 * refuses even root; EMFILE from a child process under `ulimit -n 32`. EROFS, ENFILE,
 * EDQUOT, ESTALE and ETIMEDOUT cannot be produced without mounting things or exhausting
 * the whole machine, so the unit tests cover them synthetically.
 */
import { mkdtempSync, promises as fsp, readFile, rmSync, writeFileSync, writeSync, openSync, closeSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNode } from '../test/helpers/child-process';
import { captureAll, errorOf, fixturePath, runScript, summarize, writeFixture, type CodeScenario, type ErrorSummary } from './lib/capture';

interface Scenario extends CodeScenario {
  /** `run` resolves with an already summarised error (captured in another process). */
  summarized?: true;
}

const FIXTURE = fixturePath('fs-errors.json');
const work = mkdtempSync(join(tmpdir(), 'breakerbox-fs-capture-'));

/** The fields of a Node fs error worth keeping. */
const FS_FIELDS = {
  strings: ['name', 'message', 'syscall', 'path', 'dest'],
  numbers: ['errno'],
  nested: ['cause'],
  errors: false,
} as const;

function callbackError(fn: (cb: (err: unknown) => void) => void): Promise<unknown> {
  return new Promise((resolve, reject) => fn((err) => (err ? resolve(err) : reject(new Error('expected an error')))));
}

/** Opens descriptors until the per-process limit is hit; prints that error as JSON. */
const EMFILE_CHILD = `
const fs = require('fs');
const held = [];
(async () => {
  try {
    for (;;) held.push(await fs.promises.open('/dev/null', 'r'));
  } catch (e) {
    const out = { className: e.constructor.name, name: e.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path };
    process.stdout.write(JSON.stringify({ opened: held.length, error: out }) + '\\n');
  }
})();
`;

const file = join(work, 'existing.txt');
const dir = join(work, 'a-directory');

const scenarios: Scenario[] = [
  {
    id: 'enospc-dev-full',
    scenario: "fs.promises.writeFile('/dev/full', data): the device is always full",
    expectCode: 'ENOSPC',
    failure: true,
    kind: 'ENOSPC',
    run: () => errorOf(() => fsp.writeFile('/dev/full', 'x')),
  },
  {
    id: 'enospc-dev-full-sync',
    scenario: "fs.writeSync() to an fd of '/dev/full'",
    expectCode: 'ENOSPC',
    failure: true,
    kind: 'ENOSPC',
    run: () =>
      errorOf(() => {
        const fd = openSync('/dev/full', 'w');
        try {
          writeSync(fd, 'x');
        } finally {
          closeSync(fd);
        }
      }),
  },
  {
    id: 'emfile-ulimit',
    scenario: "fs.promises.open() in a child under 'ulimit -n 32' until it fails",
    expectCode: 'EMFILE',
    failure: true,
    kind: 'EMFILE',
    summarized: true,
    run: async () => {
      const r = await runNode(['-e', EMFILE_CHILD], { ulimitNofile: 32, timeoutMs: 15_000 });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      if (!line.startsWith('{')) throw new Error(`EMFILE child printed nothing useful: ${r.stdout} ${r.stderr}`);
      return (JSON.parse(line) as { error: ErrorSummary }).error;
    },
  },
  {
    id: 'eio-proc-mem',
    scenario: 'reading address 0 of /proc/self/mem through a FileHandle',
    expectCode: 'EIO',
    failure: true,
    kind: 'EIO',
    run: () =>
      errorOf(async () => {
        const fh = await fsp.open('/proc/self/mem', 'r');
        try {
          await fh.read(Buffer.alloc(1), 0, 1, 0);
        } finally {
          await fh.close();
        }
      }),
  },
  {
    id: 'ebusy-rmdir-mountpoint',
    scenario: "fs.promises.rmdir('/proc'): a mount point",
    expectCode: 'EBUSY',
    failure: true,
    kind: 'EBUSY',
    run: () => errorOf(() => fsp.rmdir('/proc')),
  },
  {
    id: 'enoent-readfile',
    scenario: 'fs.promises.readFile() of a missing file',
    expectCode: 'ENOENT',
    failure: false,
    kind: 'ENOENT',
    run: () => errorOf(() => fsp.readFile(join(work, 'missing.txt'))),
  },
  {
    id: 'enoent-readfile-callback',
    scenario: 'fs.readFile(missing, cb)',
    expectCode: 'ENOENT',
    failure: false,
    kind: 'ENOENT',
    run: () => callbackError((cb) => readFile(join(work, 'missing.txt'), cb)),
  },
  {
    id: 'eexist-open-wx',
    scenario: "fs.promises.open(existing, 'wx')",
    expectCode: 'EEXIST',
    failure: false,
    kind: 'EEXIST',
    run: () => errorOf(() => fsp.open(file, 'wx')),
  },
  {
    id: 'eisdir-readfile',
    scenario: 'fs.promises.readFile() of a directory',
    expectCode: 'EISDIR',
    failure: false,
    kind: 'EISDIR',
    run: () => errorOf(() => fsp.readFile(dir)),
  },
  {
    id: 'enotdir-readdir-file',
    scenario: 'fs.promises.readdir() of a regular file',
    expectCode: 'ENOTDIR',
    failure: false,
    kind: 'ENOTDIR',
    run: () => errorOf(() => fsp.readdir(file)),
  },
  {
    id: 'enotdir-path-through-file',
    scenario: 'fs.promises.stat() of a path that goes through a regular file',
    expectCode: 'ENOTDIR',
    failure: false,
    kind: 'ENOTDIR',
    run: () => errorOf(() => fsp.stat(join(file, 'child'))),
  },
  {
    id: 'eacces-sysfs-create',
    scenario: 'fs.promises.writeFile() of a new file in /sys (refused even to root)',
    expectCode: 'EACCES',
    failure: false,
    kind: 'EACCES',
    run: () => errorOf(() => fsp.writeFile('/sys/breakerbox-capture-probe', 'x')),
  },
  {
    id: 'eacces-access-x-ok',
    scenario: 'fs.promises.access(file, X_OK) of a 0644 file (root still needs one x bit)',
    expectCode: 'EACCES',
    failure: false,
    kind: 'EACCES',
    run: () => errorOf(() => fsp.access(file, constants.X_OK)),
  },
  {
    id: 'eperm-link-directory',
    scenario: 'fs.promises.link() of a directory (hard links to directories are not allowed)',
    expectCode: 'EPERM',
    failure: false,
    kind: 'EPERM',
    run: () => errorOf(() => fsp.link(dir, join(work, 'dir-link'))),
  },
  {
    id: 'einval-readlink-file',
    scenario: 'fs.promises.readlink() of a regular file',
    expectCode: 'EINVAL',
    failure: false,
    kind: 'EINVAL',
    run: () => errorOf(() => fsp.readlink(file)),
  },
  {
    id: 'enametoolong',
    scenario: 'fs.promises.readFile() of a 300-character file name (the limit is 255)',
    expectCode: 'ENAMETOOLONG',
    failure: false,
    kind: 'ENAMETOOLONG',
    run: () => errorOf(() => fsp.readFile(join(work, 'n'.repeat(300)))),
  },
  {
    id: 'err-invalid-arg-type-promise',
    scenario: 'fs.promises.readFile({}) (not a path)',
    expectCode: 'ERR_INVALID_ARG_TYPE',
    failure: false,
    kind: 'ERR_ARGUMENT',
    run: () => errorOf(() => fsp.readFile({} as unknown as string)),
  },
  {
    id: 'err-invalid-arg-type-callback',
    scenario: 'fs.readFile({}, cb): thrown synchronously, the callback is never called',
    expectCode: 'ERR_INVALID_ARG_TYPE',
    failure: false,
    kind: 'ERR_ARGUMENT',
    run: () => errorOf(() => readFile({} as unknown as string, () => undefined)),
  },
  {
    id: 'err-invalid-arg-value-flag',
    scenario: "fs.promises.open(file, 'nope'): unknown flag",
    expectCode: 'ERR_INVALID_ARG_VALUE',
    failure: false,
    kind: 'ERR_ARGUMENT',
    run: () => errorOf(() => fsp.open(file, 'nope')),
  },
];

async function main(): Promise<void> {
  writeFileSync(file, 'x', { mode: 0o644 });
  await fsp.mkdir(dir);
  const cases: unknown[] = [];
  let problems: string[];
  try {
    problems = await captureAll(scenarios, (s, err) => {
      const summary = s.summarized ? (err as ErrorSummary) : summarize(err, FS_FIELDS);
      // The temporary directory's name is random; keep the fixture stable across runs.
      const stable = JSON.parse(JSON.stringify(summary).split(work).join('/tmp/breakerbox-fs-capture')) as ErrorSummary;
      cases.push({ id: s.id, scenario: s.scenario, error: stable, expected: { failure: s.failure, kind: s.kind } });
      process.stdout.write(`${s.id}: ${String(summary.code)} ${summary.message ?? ''}\n`);
      return summary.code === s.expectCode ? null : `expected code ${s.expectCode}, got ${String(summary.code)} (${summary.message})`;
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const fixture = { module: 'fs', capturedWith: { node: process.version, platform: process.platform }, cases };
  writeFixture(FIXTURE, fixture, problems);
}

runScript(main);

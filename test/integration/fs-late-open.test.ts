/**
 * call_timeout on fs `open`: a descriptor that arrives after the caller got ECIRCUITTIMEOUT
 * is closed, in both the callback and the promise (FileHandle) form. A FIFO makes the open
 * really slow: opening it for reading blocks until a writer opens the other end.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readdirSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { eventually } from '../helpers/eventually';
import { checkService } from '../helpers/require-services';
import { fsBreakerYaml, guardFs, type GuardedFs } from '../fixtures/fs/harness';

/** How many of this process's descriptors point at `file`. */
function descriptorsOn(file: string): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) n++;
    } catch {
      // Closed while we looked (the readdir's own descriptor, typically).
    }
  }
  return n;
}

async function fifosAvailable(): Promise<void> {
  execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
  readdirSync('/proc/self/fd');
}

describe('fs patcher: an open that completes after ECIRCUITTIMEOUT', function () {
  this.timeout(20_000);
  let dir: string;
  let g: GuardedFs;

  before(async function () {
    await checkService(this, 'mkfifo and /proc', fifosAvailable);
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-late-open-'));
    g = guardFs(fsBreakerYaml([`${dir}/**`], { failure_threshold: 10, call_timeout: '100ms', operations: ['open'] }), dir);
  });

  after(() => {
    g?.instrumentation.disable();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function fifo(name: string): string {
    const file = join(dir, name);
    execFileSync('mkfifo', [file]);
    return file;
  }

  /**
   * Opens the writing end, which lets the blocked read open complete late, then resolves once
   * that reading end is closed again: a write to a FIFO nobody reads fails with EPIPE.
   */
  async function readerClosedAfterWriterArrives(file: string): Promise<void> {
    // Non-blocking: succeeds only because a reader (the abandoned open) is waiting.
    const writer = openSync(file, constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      await eventually('the late reading end to be closed', 5_000, async () => {
        try {
          writeSync(writer, 'x');
          return undefined;
        } catch (err) {
          if ((err as { code?: string }).code === 'EPIPE') return true;
          throw err;
        }
      });
    } finally {
      closeSync(writer);
    }
  }

  it('closes the descriptor of a late callback-form open', async () => {
    const file = fifo('callback');
    const calls: unknown[][] = [];
    await new Promise<void>((resolve) => {
      g.fs.open(file, 'r', (...args: unknown[]) => {
        calls.push(args);
        resolve();
      });
    });
    expect((calls[0][0] as { code?: string }).code).to.equal('ECIRCUITTIMEOUT');
    await readerClosedAfterWriterArrives(file);
    expect(descriptorsOn(file)).to.equal(0);
    expect(calls).to.have.length(1);
  });

  it('closes the FileHandle of a late fs.promises.open', async () => {
    const file = fifo('promise');
    const err = await g.fs.promises.open(file, 'r').then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).to.equal('ECIRCUITTIMEOUT');
    await readerClosedAfterWriterArrives(file);
    expect(descriptorsOn(file)).to.equal(0);
  });
});

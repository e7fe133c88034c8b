/**
 * What the file_system breaker takes as evidence in half-open: an argument error Node raises
 * for the call itself (ERR_*) never reached the disk, so it frees the trial without closing
 * the breaker; the next real call decides.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { checkService } from '../helpers/require-services';
import { viaCallback, viaPromise } from '../fixtures/fs/calls';
import { fsBreakerYaml, guardFs, type GuardedFs } from '../fixtures/fs/harness';

const RESET_MS = 200;

describe('fs patcher: only a call that reached the file system is evidence', function () {
  let dir: string;
  let file: string;
  let g: GuardedFs;

  before(async function () {
    await checkService(this, '/dev/full', async () => {
      if (!existsSync('/dev/full')) throw new Error('/dev/full does not exist on this system');
    });
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-evidence-'));
    mkdirSync(join(dir, 'guarded'));
    file = join(dir, 'guarded', 'file.txt');
    writeFileSync(file, 'guarded data');
    g = guardFs(fsBreakerYaml(['/dev/full', `${dir}/guarded/**`], { failure_threshold: 2, timeout: `${RESET_MS}ms` }), dir);
  });

  after(() => {
    g?.instrumentation.disable();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function halfOpenAfterFullDisk(): Promise<void> {
    for (let i = 0; i < 2; i++) {
      const r = await viaCallback((cb) => g.fs.writeFile('/dev/full', 'x', cb));
      expect((r.args[0] as NodeJS.ErrnoException).code).to.equal('ENOSPC');
    }
    expect(g.breaker().state).to.equal('open');
    await sleep(RESET_MS + 50);
  }

  it('half-open: an argument error from Node is not the trial and does not close; the next real write decides', async () => {
    await halfOpenAfterFullDisk();
    const bad = await viaPromise(() => g.fs.promises.readFile(file, { encoding: 'no-such-encoding' as BufferEncoding }));
    expect((bad.rejected as NodeJS.ErrnoException).code).to.equal('ERR_INVALID_ARG_VALUE');
    expect(g.breaker().state).to.not.equal('closed');

    const full = await viaCallback((cb) => g.fs.writeFile('/dev/full', 'x', cb));
    expect((full.args[0] as NodeJS.ErrnoException).code).to.equal('ENOSPC');
    expect(g.breaker().state).to.equal('open');
  });

  it('half-open: a real answer about a path (ENOENT) closes it: the file system answered', async () => {
    g.breaker().reset();
    await halfOpenAfterFullDisk();
    const missing = await viaPromise(() => g.fs.promises.readFile(join(dir, 'guarded', 'missing.txt')));
    expect((missing.rejected as NodeJS.ErrnoException).code).to.equal('ENOENT');
    expect(g.breaker().state).to.equal('closed');
  });
});

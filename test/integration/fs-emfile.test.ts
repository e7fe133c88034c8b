/**
 * Descriptor exhaustion for real: a child process under `ulimit -n` opens files until the
 * kernel says EMFILE, and its file_system breaker opens.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { runNode } from '../helpers/child-process';
import { checkService } from '../helpers/require-services';

const REPO = resolve(__dirname, '../..');

/** `ulimit -n` needs bash (the helper runs the child through it). */
async function bashUlimitAvailable(): Promise<void> {
  const r = spawnSync('bash', ['-c', 'ulimit -n 64 && ulimit -n'], { encoding: 'utf8' });
  if (r.error) throw new Error(`bash not runnable: ${r.error.message}`);
  if (r.status !== 0 || r.stdout.trim() !== '64') throw new Error(`bash cannot lower ulimit -n (exit ${r.status}: ${r.stderr.trim()})`);
}

describe('fs patcher: EMFILE from a real descriptor limit', function () {
  let dir: string;

  before(async function () {
    await checkService(this, 'bash with ulimit', bashUlimitAvailable);
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-emfile-'));
    writeFileSync(join(dir, 'file.txt'), 'still here');
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens the breaker when the process runs out of descriptors, and recovers once they are closed', async function () {
    this.timeout(60_000);
    const r = await runNode(['-r', 'tsx/cjs', 'test/fixtures/fs/emfile-child.ts'], {
      cwd: REPO,
      env: { BBX_DIR: dir },
      ulimitNofile: 64,
      timeoutMs: 45_000,
    });
    expect(r.code, `stderr:\n${r.stderr}`).to.equal(0);
    const report = JSON.parse(r.stdout.trim()) as Record<string, unknown>;

    expect(report.opened, 'handles opened before the limit').to.be.within(5, 64);
    expect(report.firstFailure).to.equal('EMFILE');
    expect(report.codes).to.deep.equal({ EMFILE: 3, ECIRCUITOPEN: 1 });
    expect(report.stateAfter).to.equal('open');
    expect(report.callbackForm).to.equal('ECIRCUITOPEN');
    expect(report.callbackDeferred, 'callback called after open() returned').to.equal(true);
    expect(report.promiseForm).to.equal('ECIRCUITOPEN');
    expect(report.readAfterRecovery).to.equal('still here');
    expect(report.stateAtEnd).to.equal('closed');
    expect(report.transitions).to.deep.equal(['closed->open', 'open->half_open', 'half_open->closed']);
  });
});

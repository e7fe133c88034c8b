/**
 * A concurrency limit on the file_system breaker with real blocked calls: reads of a named
 * pipe stay in flight until a writer opens it, so the limit fills for real. Calls over it are
 * refused at once in the shape fs gives errors (an asynchronous callback error, a rejection);
 * the synchronous forms are never limited.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { ConcurrencyLimitError } from '../../src/core';
import { checkService } from '../helpers/require-services';
import { viaCallback, viaPromise } from '../fixtures/fs/calls';
import { fsBreakerYaml, guardFs, type GuardedFs } from '../fixtures/fs/harness';

const LIMIT = 2;
const run = promisify(execFile);

async function mkfifoAvailable(): Promise<void> {
  const r = spawnSync('mkfifo', ['--version'], { encoding: 'utf8' });
  if (r.error) throw new Error(`mkfifo not runnable: ${r.error.message}`);
}

function limited(err: unknown): void {
  expect(err).to.be.instanceOf(ConcurrencyLimitError);
  expect((err as ConcurrencyLimitError).code).to.equal('ECONCURRENCYLIMIT');
  expect((err as ConcurrencyLimitError).breaker).to.equal('file_system');
  expect((err as ConcurrencyLimitError).limit).to.equal(LIMIT);
}

describe('fs patcher: concurrency limit (blocked reads of a real named pipe)', function () {
  this.timeout(30_000);
  let dir: string;
  let g: GuardedFs;

  before(async function () {
    await checkService(this, 'mkfifo', mkfifoAvailable);
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-limit-'));
    writeFileSync(join(dir, 'file.txt'), 'data');
    g = guardFs(fsBreakerYaml([`${dir}/**`], { sync: true }).replace(/\n$/, `\n    concurrency: {limit: ${LIMIT}}\n`), dir);
  });
  afterEach(() => {
    g.breaker().fallback(null);
    expect(g.breaker().inflight, 'every slot given back').to.equal(0);
  });
  after(() => {
    g?.instrumentation.disable();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Two reads of a fresh FIFO, blocked until `release()` writes to it (from another process, unguarded). */
  function fillLimit(): { release: () => Promise<void> } {
    const fifo = join(dir, `pipe-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    spawnSync('mkfifo', [fifo]);
    expect(existsSync(fifo)).to.equal(true);
    const reads = [g.fs.promises.readFile(fifo, 'utf8'), g.fs.promises.readFile(fifo, 'utf8')];
    expect(g.breaker().inflight).to.equal(LIMIT);
    return {
      release: async () => {
        let done = false;
        const all = Promise.all(reads).finally(() => (done = true));
        // Each writer unblocks the readers already waiting in open(); repeat until both finished.
        while (!done) {
          await run('sh', ['-c', `printf x > '${fifo}'`]);
          await Promise.race([all, new Promise((r) => setTimeout(r, 20))]);
        }
        await all;
      },
    };
  }

  it('refuses callback and promise calls over the limit, in the shape fs gives errors', async () => {
    const held = fillLimit();
    const cb = await viaCallback((callback) => g.fs.readFile(join(dir, 'file.txt'), callback));
    expect(cb.sync, 'callback not called synchronously').to.equal(false);
    expect(cb.calls).to.equal(1);
    limited(cb.args[0]);
    const p = await viaPromise(() => g.fs.promises.readFile(join(dir, 'file.txt')));
    expect(p.isPromise).to.equal(true);
    limited(p.rejected);
    await held.release();
    expect(g.totals().limited).to.equal(2);
    expect(g.breaker().state).to.equal('closed');
    expect(await g.fs.promises.readFile(join(dir, 'file.txt'), 'utf8')).to.equal('data');
  });

  it('never limits the synchronous forms', async () => {
    const held = fillLimit();
    expect(g.fs.readFileSync(join(dir, 'file.txt'), 'utf8')).to.equal('data');
    await held.release();
  });

  it('answers a refused call from the fallback', async () => {
    g.breaker().fallback(() => 'from fallback');
    const held = fillLimit();
    const cb = await viaCallback((callback) => g.fs.readFile(join(dir, 'file.txt'), 'utf8', callback));
    expect(cb.args).to.deep.equal([null, 'from fallback']);
    expect(await g.fs.promises.readFile(join(dir, 'file.txt'), 'utf8')).to.equal('from fallback');
    await held.release();
  });
});

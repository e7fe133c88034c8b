/**
 * `mode: disabled` in the file: calls go straight through, yet the module is patched so an
 * operator's `enable` (admin route or code) puts the breaker to work without a restart.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { checkService } from '../helpers/require-services';
import { viaCallback } from '../fixtures/fs/calls';
import { fsBreakerYaml, guardFs, type GuardedFs } from '../fixtures/fs/harness';

describe('fs patcher: a breaker configured as disabled', function () {
  let dir: string;
  let g: GuardedFs;

  before(async function () {
    await checkService(this, '/dev/full', async () => {
      if (!existsSync('/dev/full')) throw new Error('/dev/full does not exist on this system');
    });
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-disabled-'));
    g = guardFs(fsBreakerYaml(['/dev/full'], { failure_threshold: 2, timeout: 60, mode: 'disabled' }), dir);
  });

  after(() => {
    g?.instrumentation.disable();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const writeFull = async (): Promise<string | undefined> => {
    const r = await viaCallback((cb) => g.fs.writeFile('/dev/full', 'x', cb));
    return (r.args[0] as NodeJS.ErrnoException | null)?.code;
  };

  it('never rejects while disabled, and guards once an operator enables it', async () => {
    const breaker = g.registry.get('file_system');
    expect(breaker.state).to.equal('disabled');
    for (let i = 0; i < 4; i++) expect(await writeFull()).to.equal('ENOSPC');
    expect(breaker.state).to.equal('disabled');
    breaker.enable();
    expect(await writeFull()).to.equal('ENOSPC');
    expect(await writeFull()).to.equal('ENOSPC');
    expect(breaker.state).to.equal('open');
    expect(await writeFull()).to.equal('ECIRCUITOPEN');
  });
});

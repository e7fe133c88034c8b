/**
 * ES-module apps: `import { readFile } from 'node:fs'` is a binding of its own, not a property
 * read on the CommonJS object, so it needs the patch to reach it too, with and without
 * import-in-the-middle's loader hooks (`--import breakerbox/register` installs them).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect } from 'chai';
import { runNode } from '../helpers/child-process';

const REPO = resolve(__dirname, '../..');

describe('fs patcher: ES-module imports of fs', function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'breakerbox-fs-esm-'));
    writeFileSync(join(dir, 'file.txt'), 'plain');
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const expected = {
    namedChanged: true,
    named: 'ECIRCUITOPEN',
    defaultExport: 'ECIRCUITOPEN',
    namedPromises: 'ECIRCUITOPEN',
    namedRestored: true,
    namedAfterDisable: 'plain',
    namedPromisesAfterDisable: 'plain',
  };

  async function run(preload: string[]): Promise<unknown> {
    const r = await runNode([...preload, '-r', 'tsx/cjs', 'test/fixtures/fs/esm-child.mjs'], { cwd: REPO, env: { BBX_DIR: dir } });
    expect(r.code, `stderr:\n${r.stderr}`).to.equal(0);
    return JSON.parse(r.stdout.trim());
  }

  it('guards named imports bound before the patch, and releases them on disable()', async () => {
    expect(await run([])).to.deep.equal(expected);
  });

  it('does the same through import-in-the-middle module namespaces', async () => {
    expect(await run(['--import', './test/fixtures/fs/iitm-register.mjs'])).to.deep.equal(expected);
  });
});

import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VERSION } from '../../../src/version';

describe('package metadata', () => {
  it('reports the version package.json declares (scope version on every metric)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).to.equal(pkg.version);
  });
});

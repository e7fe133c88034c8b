import { expect } from 'chai';
import { parseRange, satisfiesAny } from '../../../src/instrumentation/version-range';
import { PATCHERS } from '../../../src/instrumentation/patchers';
import { ModuleGuard } from '../../../src/instrumentation/module-guard';
import { defaultConfig } from '../../../src/config';
import { BreakerRegistry } from '../../../src/registry';

describe('version ranges of the preload module hooks', () => {
  it('reads the ranges the patchers declare as semver does', () => {
    expect(satisfiesAny('8.23.1', ['>=8.0.0 <9'])).to.equal(true);
    expect(satisfiesAny('8.0.0', ['>=8.0.0 <9'])).to.equal(true);
    expect(satisfiesAny('9.0.0', ['>=8.0.0 <9'])).to.equal(false);
    expect(satisfiesAny('7.18.2', ['>=8.0.0 <9'])).to.equal(false);
    expect(satisfiesAny('3.9.9', ['>=2.0.0 <4'])).to.equal(true);
    expect(satisfiesAny('7.5.10', ['>=7.0.0 <9'])).to.equal(true);
    expect(satisfiesAny('1.2.3', ['>=2.0.0 <3', '>=1.2.0 <1.3'])).to.equal(true);
    expect(satisfiesAny('1.3.0', ['>=2.0.0 <3 || >=1.2.0 <1.3'])).to.equal(false);
    expect(satisfiesAny('0.0.1', ['*'])).to.equal(true);
  });

  it('agrees with the semver check InstrumentationBase uses, on the declared ranges', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { satisfies } = require('@opentelemetry/instrumentation/build/src/semver') as { satisfies(v: string, r: string): boolean };
    const versions = [
      '0.0.0',
      '1.9.9',
      '2.0.0',
      '2.29.3',
      '3.0.0',
      '3.9.1',
      '4.0.0',
      '6.2.1',
      '7.0.0',
      '7.5.10',
      '8.0.0',
      '8.23.1',
      '9.0.0',
      '8.1.0-rc.1',
    ];
    for (const range of ['*', '>=8.0.0 <9', '>=2.0.0 <4', '>=2.0.0 <3', '>=7.0.0 <9']) {
      for (const v of versions) expect(satisfiesAny(v, [range]), `${v} in ${range}`).to.equal(satisfies(v, range));
    }
  });

  it('takes no prerelease and, without a version, only "*" (as InstrumentationBase)', () => {
    expect(satisfiesAny('8.1.0-rc.1', ['>=8.0.0 <9'])).to.equal(false);
    expect(satisfiesAny(undefined, ['>=8.0.0 <9'])).to.equal(false);
    expect(satisfiesAny(undefined, ['*'])).to.equal(true);
    expect(satisfiesAny('not-a-version', ['>=8.0.0 <9'])).to.equal(false);
  });

  it('refuses a range form it does not read, naming the range and the part', () => {
    expect(() => parseRange('^8.0.0')).to.throw('version range "^8.0.0": "^8.0.0" is not a form breakerbox reads');
    expect(() => parseRange('>=8.x')).to.throw(/">=8\.x"/);
  });

  it('reads every range every patcher declares', () => {
    const config = defaultConfig();
    const registry = new BreakerRegistry();
    registry.configure(config);
    for (const patcher of PATCHERS) {
      const breaker = config.breakers.find((b) => b.module === patcher.module);
      if (!breaker) continue;
      for (const d of patcher.definitions(new ModuleGuard(patcher.module, breaker, registry))) {
        for (const ranges of [d.supportedVersions, ...d.files.map((f) => f.supportedVersions)]) {
          for (const range of ranges) expect(() => parseRange(range), `${d.name}: ${range}`).to.not.throw();
        }
      }
    }
  });
});

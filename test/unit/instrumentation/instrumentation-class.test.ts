/**
 * BreakerboxInstrumentation is exported from 'breakerbox' without loading
 * @opentelemetry/instrumentation; once built it must be exactly what `extends
 * InstrumentationBase` would give: apps pass it to NodeSDK, check it, subclass it.
 */
import { expect } from 'chai';
import { InstrumentationBase } from '@opentelemetry/instrumentation';
import { parseConfig } from '../../../src/config';
import { BreakerboxInstrumentation } from '../../../src/instrumentation/instrumentation';
import { BreakerRegistry } from '../../../src/registry';
import { guardedModules } from '../../helpers/guarded-modules';

const CONFIG = parseConfig('circuit_breakers:\n  database:\n    failure_threshold: 3\n', 'test.yaml');

describe('BreakerboxInstrumentation as an OpenTelemetry instrumentation', () => {
  it('is an InstrumentationBase named breakerbox, with its guards built by init()', () => {
    const inst = new BreakerboxInstrumentation({ enabled: false, breakerbox: CONFIG, registry: new BreakerRegistry(CONFIG) });
    expect(inst).to.be.instanceOf(InstrumentationBase);
    expect(inst).to.be.instanceOf(BreakerboxInstrumentation);
    expect(inst.instrumentationName).to.equal('breakerbox');
    expect(inst.getConfig().enabled).to.equal(false);
    expect(guardedModules(inst)).to.include('pg');
    expect(inst.getModuleDefinitions().map((d) => d.name)).to.include.members(['pg', 'pg-pool']);
  });

  it("can be subclassed: the subclass's fields and methods are on the instance", () => {
    class Mine extends BreakerboxInstrumentation {
      readonly label = 'mine';
      describe(): string {
        return `${this.label}:${this.instrumentationName}`;
      }
    }
    const inst = new Mine({ enabled: false, breakerbox: CONFIG, registry: new BreakerRegistry(CONFIG) });
    expect(inst).to.be.instanceOf(Mine).and.instanceOf(BreakerboxInstrumentation).and.instanceOf(InstrumentationBase);
    expect(inst.describe()).to.equal('mine:breakerbox');
  });
});

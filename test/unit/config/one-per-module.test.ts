import { expect } from 'chai';
import { ConfigError, parseConfig } from '../../../src/config';

describe('config: one breaker per module', () => {
  it('rejects a second breaker for a module, naming the first and suggesting per_target', () => {
    const text = ['circuit_breakers:', '  database:', '    failure_threshold: 3', '  reporting:', '    module: pg', ''].join('\n');
    let err: unknown;
    try {
      parseConfig(text, '/srv/breakerbox.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const problem = (err as ConfigError).problems[0];
    expect(problem.path).to.equal('circuit_breakers.reporting.module');
    expect(problem.message).to.contain('"database" already guards pg').and.contain('per_target');
  });

  it('allows any number of manual breakers', () => {
    const config = parseConfig(['circuit_breakers:', '  auth: {}', '  tokens: {}', ''].join('\n'), '/srv/breakerbox.yaml');
    expect(config.breakers.filter((b) => b.module === 'manual').map((b) => b.name)).to.deep.equal(['auth', 'tokens']);
  });
});

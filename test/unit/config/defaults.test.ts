import { expect } from 'chai';
import { defaultConfig, ConfigError, VALID_OPERATIONS } from '../../../src/config';

describe('config built-in defaults', () => {
  const config = defaultConfig({ env: {}, cwd: '/srv/app' });
  const byName = (n: string) => config.breakers.find((b) => b.name === n);

  it('is enabled, from no file, with the documented section defaults', () => {
    expect(config.enabled).to.equal(true);
    expect(config.source).to.equal(null);
    expect(config.defaults).to.deep.equal({ failureThreshold: 5, resetTimeoutMs: 60_000 });
    expect(config.tracing).to.deep.equal({ callSpans: false });
  });

  it('serves monitoring on 0.0.0.0:9464 at info level', () => {
    expect(config.monitoring).to.deep.equal({ enabled: true, port: 9464, host: '0.0.0.0', logLevel: 'info' });
  });

  it('guards exactly the four breakers of the DESIGN.md example, in its order', () => {
    expect(config.breakers.map((b) => [b.name, b.module])).to.deep.equal([
      ['database', 'pg'],
      ['nats', 'nats'],
      ['websocket', 'ws'],
      ['file_system', 'fs'],
    ]);
  });

  it('uses the example thresholds, timeouts and operations', () => {
    expect(byName('database')).to.deep.include({ operations: ['connect', 'query'], perTarget: false, maxTargets: 100 });
    expect(byName('database')?.options).to.deep.equal({ failureThreshold: 3, resetTimeoutMs: 30_000 });
    expect(byName('nats')?.options).to.deep.equal({ failureThreshold: 2, resetTimeoutMs: 10_000 });
    expect(byName('nats')?.operations).to.deep.equal(['connect', 'publish', 'request', 'flush']);
    expect(byName('websocket')?.options).to.deep.equal({ failureThreshold: 5, resetTimeoutMs: 15_000 });
    expect(byName('websocket')).to.deep.include({ operations: ['connect', 'send'], perTarget: true, maxBufferedAmount: 1_048_576 });
    expect(byName('file_system')?.options).to.deep.equal({ failureThreshold: 5, resetTimeoutMs: 60_000 });
    expect(byName('file_system')?.operations).to.deep.equal(['readFile', 'writeFile', 'appendFile', 'open', 'stat', 'readdir']);
  });

  it('resolves the ./data/** glob against the working directory', () => {
    expect(byName('file_system')?.paths).to.deep.equal(['/srv/app/data/**']);
    expect(defaultConfig({ env: {}, cwd: '/opt/x' }).breakers[3].paths).to.deep.equal(['/opt/x/data/**']);
  });

  it('leaves every breaker enforcing, not disabled or forced open, with no sync fs guarding', () => {
    for (const b of config.breakers) {
      expect(b).to.deep.include({ disabled: false, forcedOpen: false, syncCalls: false, appOperations: [] });
    }
  });

  it('lets OTEL_EXPORTER_PROMETHEUS_PORT/_HOST move the monitoring server', () => {
    const c = defaultConfig({ env: { OTEL_EXPORTER_PROMETHEUS_PORT: '9999', OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1' } });
    expect(c.monitoring).to.deep.include({ port: 9999, host: '127.0.0.1' });
  });

  it('refuses an invalid OTEL_EXPORTER_PROMETHEUS_PORT, naming the variable', () => {
    expect(() => defaultConfig({ env: { OTEL_EXPORTER_PROMETHEUS_PORT: 'http' } })).to.throw(
      ConfigError,
      /environment variable OTEL_EXPORTER_PROMETHEUS_PORT: got "http", expected a whole number from 1 to 65535/,
    );
  });

  it('exports the valid operations of each module', () => {
    expect(VALID_OPERATIONS.pg).to.deep.equal(['connect', 'query']);
    expect(VALID_OPERATIONS.nats).to.deep.equal(['connect', 'publish', 'request', 'flush', 'subscribe']);
    expect(VALID_OPERATIONS.ws).to.deep.equal(['connect', 'send']);
    expect(VALID_OPERATIONS.fs).to.have.length(14).and.include.members(['readFile', 'copyFile', 'access', 'lstat']);
    expect(VALID_OPERATIONS.manual).to.deep.equal([]);
  });
});

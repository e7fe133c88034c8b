import { expect } from 'chai';
import { parseConfig } from '../../../src/config';
import { FILE, problemsOf, yaml } from './helpers';

const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfig(text, FILE, { env, cwd: '/srv/app' });

describe('config: fleet section', () => {
  it('is off by default, and a file without it needs nothing more', () => {
    const config = parse(yaml('circuit_breakers:', '  database:', '    timeout: 5'));
    expect(config.fleet.enabled).to.equal(false);
  });

  it('reads every key, with the quorum as a count', () => {
    const config = parse(
      yaml(
        'circuit_breakers:',
        '  database: {}',
        '  reports: {}',
        '  fleet:',
        '    enabled: true',
        '    url: nats://nats.internal:4222',
        '    name: game-server',
        '    quorum: 3',
        '    heartbeat: 500ms',
        '    breakers: [database]',
      ),
    );
    expect(config.fleet).to.deep.equal({
      enabled: true,
      url: 'nats://nats.internal:4222',
      name: 'game-server',
      quorum: { count: 3, percent: null },
      heartbeatMs: 500,
      breakers: ['database'],
    });
  });

  it('defaults: url from NATS_URL, name from OTEL_SERVICE_NAME, every breaker but the nats one, 1s heartbeat', () => {
    const config = parse(yaml('circuit_breakers:', '  database: {}', '  nats: {}', '  auth: {}', '  fleet:', '    enabled: true'), {
      NATS_URL: 'nats://10.0.0.5:4222',
      OTEL_SERVICE_NAME: 'checkout',
    });
    expect(config.fleet.url).to.equal('nats://10.0.0.5:4222');
    expect(config.fleet.name).to.equal('checkout');
    expect(config.fleet.breakers).to.deep.equal(['database', 'auth']);
    expect(config.fleet.heartbeatMs).to.equal(1000);
    expect(config.fleet.quorum).to.deep.equal({ count: 2, percent: null });
  });

  it('falls back to nats://127.0.0.1:4222 without NATS_URL', () => {
    const config = parse(yaml('circuit_breakers:', '  fleet:', '    enabled: true', '    name: api'));
    expect(config.fleet.url).to.equal('nats://127.0.0.1:4222');
  });

  it('takes a percentage quorum', () => {
    const config = parse(yaml('circuit_breakers:', '  fleet:', '    enabled: true', '    name: api', '    quorum: "50%"'));
    expect(config.fleet.quorum).to.deep.equal({ count: null, percent: 50 });
  });

  it('refuses fleet mode on without a name or OTEL_SERVICE_NAME, saying where a name can come from', () => {
    const [p] = problemsOf(yaml('circuit_breakers:', '  fleet:', '    enabled: true'));
    expect(p.path).to.equal('circuit_breakers.fleet.name');
    expect(p.message).to.contain('OTEL_SERVICE_NAME');
  });

  it('does not ask for a name while fleet mode is off', () => {
    expect(parse(yaml('circuit_breakers:', '  fleet:', '    quorum: 3')).fleet.enabled).to.equal(false);
  });

  it('refuses a quorum of 0, of 1 (one member alone would open the others), a huge one and bad percentages', () => {
    for (const bad of ['0', '1', '10001', '"0%"', '"150%"', '"half"', '2.5']) {
      const problems = problemsOf(yaml('circuit_breakers:', '  fleet:', '    name: api', `    quorum: ${bad}`));
      expect(problems, bad).to.have.length(1);
      expect(problems[0].path).to.equal('circuit_breakers.fleet.quorum');
      expect(problems[0].message).to.contain(
        'expected a whole number from 2 to 10000, or a percentage of the members like "50%" (from 1% to 100%); a quorum of 1',
      );
    }
  });

  it('refuses a bad heartbeat duration, naming the key and the value', () => {
    const [p] = problemsOf(yaml('circuit_breakers:', '  fleet:', '    name: api', '    heartbeat: soon'));
    expect(p.path).to.equal('circuit_breakers.fleet.heartbeat');
    expect(p.message).to.contain('"soon"').and.contain('500ms');
    const [fast] = problemsOf(yaml('circuit_breakers:', '  fleet:', '    name: api', '    heartbeat: 10ms'));
    expect(fast.message).to.contain('at least 100 ms');
  });

  it('refuses unknown breaker names in breakers:, listing the configured ones', () => {
    const [p] = problemsOf(yaml('circuit_breakers:', '  database: {}', '  fleet:', '    name: api', '    breakers: [databse]'));
    expect(p.path).to.equal('circuit_breakers.fleet.breakers[0]');
    expect(p.message).to.contain('"databse"').and.contain('database');
  });

  it('refuses a name or OTEL_SERVICE_NAME that cannot be a NATS subject token', () => {
    const [p] = problemsOf(yaml('circuit_breakers:', '  fleet:', '    name: "game server"'));
    expect(p.path).to.equal('circuit_breakers.fleet.name');
    const [e] = problemsOf(yaml('circuit_breakers:', '  fleet:', '    enabled: true'), { env: { OTEL_SERVICE_NAME: 'a.b c' } });
    expect(e.path).to.equal('OTEL_SERVICE_NAME');
  });

  it('refuses a url that is not a NATS server address, and unknown keys with a suggestion', () => {
    const [p] = problemsOf(yaml('circuit_breakers:', '  fleet:', '    name: api', '    url: http://x:80'));
    expect(p.path).to.equal('circuit_breakers.fleet.url');
    const [k] = problemsOf(yaml('circuit_breakers:', '  fleet:', '    name: api', '    quorom: 2'));
    expect(k.message).to.contain('did you mean "quorum"');
  });
});

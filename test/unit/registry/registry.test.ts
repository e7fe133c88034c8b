import { expect } from 'chai';
import { parseConfig, type BreakerboxConfig } from '../../../src/config';
import { BreakerOpenError } from '../../../src/core';
import { BreakerRegistry } from '../../../src/registry';
import { withOperation } from '../../../src/registry/app-operation';
import { boom } from '../core/fake-clock';

function configOf(...lines: string[]): BreakerboxConfig {
  return parseConfig(`${lines.join('\n')}\n`, '/srv/app/breakerbox.yaml', { env: {}, cwd: '/srv/app' });
}

async function failTimes(run: (fn: () => Promise<never>) => Promise<unknown>, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await run(() => Promise.reject(boom())).catch(() => undefined);
}

function names(registry: BreakerRegistry): string[] {
  return registry
    .list()
    .map((e) => e.breaker.name)
    .sort();
}

describe('registry: named breakers', () => {
  it('creates a breaker on first get and hands back the very same one afterwards', () => {
    const registry = new BreakerRegistry();
    const first = registry.get('auth', { failureThreshold: 2 });
    const second = registry.get('auth', { failureThreshold: 9 });
    expect(second).to.equal(first);
    expect(second.options.failureThreshold).to.equal(2);
    expect(names(registry)).to.deep.equal(['auth']);
  });

  it('refuses an empty name with a message that names the problem', () => {
    const registry = new BreakerRegistry();
    expect(() => registry.get('')).to.throw(TypeError, /non-empty breaker name/);
  });

  it('takes its numbers from the file while code adds functions and settings the file has no key for', async () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  auth:', '    failure_threshold: 3', '    timeout: 10'));
    const b = registry.get('auth', { failureThreshold: 3, callTimeoutMs: 2_000, fallback: () => 'cached' });
    expect(b.options.failureThreshold).to.equal(3);
    expect(b.options.resetTimeoutMs).to.equal(10_000);
    expect(b.options.callTimeoutMs).to.equal(2_000);
    expect(registry.entry('auth').module).to.equal('manual');

    await failTimes((fn) => b.execute(fn), 2);
    expect(b.state).to.equal('closed');
    // The fallback from code answers the third failure, which opens the breaker.
    expect(await b.execute(() => Promise.reject(boom()))).to.equal('cached');
    expect(b.state).to.equal('open');
    expect(await b.execute(async () => 'live')).to.equal('cached');
  });

  it('refuses a number in code that disagrees with the file, naming both values and the file', () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  auth:', '    failure_threshold: 3', '    timeout: 10'));
    expect(() => registry.get('auth', { failureThreshold: 10 })).to.throw(
      /option failureThreshold is 10 in code.*\/srv\/app\/breakerbox.yaml.*failure_threshold.* 3/,
    );
    expect(() => registry.get('auth', { resetTimeoutMs: 999 })).to.throw(/resetTimeoutMs is 999 in code.*timeout.* 10000 ms/);
    registry.get('auth');
    expect(() => registry.get('auth', { failureThreshold: 10 }), 'also once the breaker exists').to.throw(
      /failureThreshold is 10 in code.* 3/,
    );
    expect(() => registry.get('auth', { callTimeoutMs: 500 }), 'a setting the file is silent on, after creation').to.throw(
      /callTimeoutMs is 500 in code, but the breaker already exists with callTimeoutMs 0/,
    );
    expect(registry.get('auth', { failureThreshold: 3 }).options.failureThreshold, 'agreeing numbers are fine').to.equal(3);
  });

  it("takes 'auto' in code like a number: agreeing with the file is fine, disagreeing names both", () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  auth:', '    failure_rate: auto', '    slow_call_duration: 2s'));
    expect(registry.get('auth', { failureRate: 'auto' }).options.failureRate).to.equal('auto');
    expect(() => registry.get('auth', { slowCallMs: 'auto' })).to.throw(/option slowCallMs is "auto" in code.*slow_call_duration 2000 ms/);
    const fresh = new BreakerRegistry(configOf('circuit_breakers:', '  auth:', '    failure_rate: auto'));
    expect(() => fresh.get('auth', { failureRate: 0.5 })).to.throw(/option failureRate is 0.5 in code.*failure_rate "auto";/);
    expect(new BreakerRegistry().get('manual', { failureRate: 'auto' }).baselineFailureRate, 'an unconfigured breaker').to.equal(0);
  });

  it('applies functions given to get() to a breaker that already exists, the last ones winning', async () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  database:', '    failure_threshold: 1'));
    const b = registry.get('database');
    const syntax = Object.assign(new Error('syntax error'), { code: '42601', severity: 'ERROR' });
    registry.get('database', { isFailure: () => false, fallback: () => 'first' });
    registry.get('database', { isFailure: () => true, fallback: () => 'second' });
    expect(await b.execute(() => Promise.reject(syntax))).to.equal('second');
    expect(b.state).to.equal('open');
    expect(() => registry.get('database', { fallback: 'nope' as never })).to.throw(/option fallback: got string, expected a function/);
  });

  it('builds breakers the file does not mention from the code options, then the section defaults', async () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  default_failure_threshold: 4', '  default_timeout: 20'));
    const fromCode = registry.get('tokens', { failureThreshold: 2 });
    expect(fromCode.options.failureThreshold).to.equal(2);
    expect(fromCode.options.resetTimeoutMs).to.equal(20_000);
    await failTimes((fn) => fromCode.execute(fn), 2);
    expect(fromCode.state).to.equal('open');

    const fromDefaults = registry.get('sessions');
    expect(fromDefaults.options.failureThreshold).to.equal(4);
    expect(fromDefaults.options.resetTimeoutMs).to.equal(20_000);
  });

  it('gives a configured module breaker that module and its failure classifier', async () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  database:', '    failure_threshold: 1'));
    const entry = registry.entry('database');
    expect(entry.module).to.equal('pg');
    // A syntax error (SQLSTATE 42601) says nothing about the database being down.
    const syntax = Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601', severity: 'ERROR' });
    const caught = await entry.breaker.execute(() => Promise.reject(syntax)).catch((e: unknown) => e);
    expect(caught).to.equal(syntax);
    expect(entry.breaker.state).to.equal('closed');
    expect(entry.stats.totals().ignored).to.equal(1);
  });

  it('creates every breaker disabled when the file says enabled: false, so calls go straight through', async () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  enabled: false', '  auth:', '    failure_threshold: 1'));
    const configured = registry.get('auth');
    const unconfigured = registry.get('other', { failureThreshold: 1 });
    expect(configured.state).to.equal('disabled');
    expect(unconfigured.state).to.equal('disabled');
    await failTimes((fn) => configured.execute(fn), 5);
    await failTimes((fn) => unconfigured.execute(fn), 5);
    expect(configured.state).to.equal('disabled');
    expect(await configured.execute(async () => 'through')).to.equal('through');
  });

  it('starts a breaker in the operator state the file gives it (forced_open, disabled)', async () => {
    const registry = new BreakerRegistry(
      configOf('circuit_breakers:', '  auth:', '    mode: forced_open', '  billing:', '    mode: disabled'),
    );
    const auth = registry.get('auth');
    expect(auth.state).to.equal('forced_open');
    let invoked = false;
    const err = await auth
      .execute(async () => {
        invoked = true;
      })
      .catch((e: unknown) => e);
    expect(err).to.be.instanceOf(BreakerOpenError);
    expect((err as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
    expect(invoked).to.equal(false);

    const billing = registry.get('billing');
    expect(billing.state).to.equal('disabled');
    expect(billing.mode).to.equal('enforce');
    // Once an operator enables it, it enforces like any other breaker.
    billing.enable();
    expect(billing.state).to.equal('closed');
  });

  it('forgets every breaker on clear(), so the next get builds a fresh one', () => {
    const registry = new BreakerRegistry();
    const before = registry.get('auth');
    registry.clear();
    expect(registry.list()).to.have.length(0);
    expect(registry.get('auth')).to.not.equal(before);
  });
});

describe('registry: per-target children', () => {
  // A manual breaker counts every error, so plain errors trip it.
  const perTarget = (maxTargets: number, threshold = 1): BreakerboxConfig =>
    configOf(
      'circuit_breakers:',
      '  api:',
      `    failure_threshold: ${threshold}`,
      '    per_target: true',
      `    max_targets: ${maxTargets}`,
    );

  it('names each child <parent>@<target>, keeps it per target, and records its parent', () => {
    const registry = new BreakerRegistry(perTarget(10));
    const a = registry.child('api', 'db-a:5432/app');
    expect(a.breaker.name).to.equal('api@db-a:5432/app');
    expect(a.parent).to.equal('api');
    expect(a.target).to.equal('db-a:5432/app');
    expect(a.module).to.equal('manual');
    expect(registry.child('api', 'db-a:5432/app')).to.equal(a);
    expect(names(registry)).to.deep.equal(['api', 'api@db-a:5432/app']);
  });

  it('trips one target without refusing calls to the others', async () => {
    const registry = new BreakerRegistry(perTarget(10));
    const a = registry.child('api', 'db-a:5432/app').breaker;
    const b = registry.child('api', 'db-b:5432/app').breaker;
    await failTimes((fn) => a.execute(fn), 1);
    expect(a.state).to.equal('open');
    expect(b.state).to.equal('closed');
    expect(await b.execute(async () => 'ok')).to.equal('ok');
  });

  it('hands out the parent itself for a breaker that is not per-target', () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  database:', '    failure_threshold: 1'));
    const entry = registry.child('database', 'db-a:5432/app');
    expect(entry.breaker.name).to.equal('database');
    expect(names(registry)).to.deep.equal(['database']);
  });

  it('drops the least recently used closed child when max_targets is reached', () => {
    const registry = new BreakerRegistry(perTarget(3));
    registry.child('api', 'a');
    registry.child('api', 'b');
    registry.child('api', 'c');
    registry.child('api', 'a');
    registry.child('api', 'd');
    expect(names(registry)).to.deep.equal(['api', 'api@a', 'api@c', 'api@d']);
  });

  it('never refuses a target that never failed because other targets failed and filled the table', async () => {
    const registry = new BreakerRegistry(perTarget(2));
    for (const dead of ['a', 'b', 'c', 'd']) {
      const child = registry.child('api', dead).breaker;
      await failTimes((fn) => child.execute(fn), 1);
      expect(child.state, dead).to.equal('open');
    }
    const healthy = registry.child('api', 'healthy');
    expect(healthy.breaker.name).to.equal('api@healthy');
    expect(await healthy.breaker.execute(async () => 'ok')).to.equal('ok');
    expect(registry.get('api').state).to.equal('closed');
    expect(registry.list().length).to.equal(3);
  });

  it('evicts the least recently used child whatever its state once no closed child is left', async () => {
    const registry = new BreakerRegistry(perTarget(2));
    const a = registry.child('api', 'a').breaker;
    const b = registry.child('api', 'b').breaker;
    await failTimes((fn) => a.execute(fn), 1);
    await failTimes((fn) => b.execute(fn), 1);
    registry.child('api', 'b');
    registry.child('api', 'c');
    expect(names(registry)).to.deep.equal(['api', 'api@b', 'api@c']);
    // A closed child goes first, so a target still failing keeps its outage while it can.
    registry.child('api', 'd');
    expect(names(registry)).to.deep.equal(['api', 'api@b', 'api@d']);
    expect(registry.child('api', 'b').breaker).to.equal(b);
    expect(b.state).to.equal('open');
  });

  it('does not grow with 10,000 distinct targets', async () => {
    const registry = new BreakerRegistry(perTarget(5, 3));
    for (let i = 0; i < 10_000; i++) {
      const child = registry.child('api', `host-${i}:5432/db`);
      await child.breaker.execute(async () => i);
    }
    expect(registry.list().length).to.be.at.most(6);
    expect(registry.list().length).to.equal(6);
  });

  it('lets children use the parent fallback, including one set after the child exists', async () => {
    const registry = new BreakerRegistry(perTarget(10));
    const parent = registry.get('api');
    const early = registry.child('api', 'early').breaker;
    parent.fallback((...args: unknown[]) => ({ from: 'fallback', err: (args.at(-1) as Error).message }));
    const late = registry.child('api', 'late').breaker;

    expect(await early.execute(() => Promise.reject(boom('down')))).to.deep.equal({ from: 'fallback', err: 'down' });
    expect(early.state).to.equal('open');
    expect(await early.execute(async () => 'live')).to.deep.include({ from: 'fallback' });
    expect(await late.execute(() => Promise.reject(boom('late down')))).to.deep.equal({ from: 'fallback', err: 'late down' });

    parent.fallback(null);
    const err = await early.execute(async () => 'live').catch((e: unknown) => e);
    expect((err as BreakerOpenError).code).to.equal('ECIRCUITOPEN');
  });

  it("gives children the parent's settings and failure classifier", async () => {
    const registry = new BreakerRegistry(
      configOf(
        'circuit_breakers:',
        '  database:',
        '    failure_threshold: 2',
        '    timeout: 7',
        '    call_timeout: 250ms',
        '    per_target: true',
      ),
    );
    const child = registry.child('database', 'a').breaker;
    expect(registry.entry('database@a').module).to.equal('pg');
    expect(child.options.failureThreshold).to.equal(2);
    expect(child.options.resetTimeoutMs).to.equal(7_000);
    expect(child.options.callTimeoutMs).to.equal(250);
    const constraint = Object.assign(new Error('duplicate key'), { code: '23505', severity: 'ERROR' });
    for (let i = 0; i < 3; i++) await child.execute(() => Promise.reject(constraint)).catch(() => undefined);
    expect(child.state).to.equal('closed');
  });

  it('announces children to onAdd listeners and evicted ones to onRemove listeners', () => {
    const registry = new BreakerRegistry(perTarget(1));
    const added: string[] = [];
    const removed: string[] = [];
    registry.onAdd((e) => added.push(e.breaker.name));
    registry.onRemove((e) => removed.push(e.breaker.name));
    registry.child('api', 'a');
    registry.child('api', 'b');
    expect(added).to.deep.equal(['api', 'api@a', 'api@b']);
    expect(removed).to.deep.equal(['api@a']);
  });

  it('starts a child in the operator state of its configured parent', () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  database:', '    mode: forced_open', '    per_target: true'));
    expect(registry.child('database', 'a').breaker.state).to.equal('forced_open');
  });
});

describe('registry: app operations on manual breakers', () => {
  it('labels calls inside withOperation with a listed name, and keeps `execute` for the rest', async () => {
    const registry = new BreakerRegistry(configOf('circuit_breakers:', '  auth:', '    app_operations: [hash_password]'));
    const auth = registry.get('auth');
    await withOperation('hash_password', () => auth.execute(async () => 'h1'));
    await withOperation('not_listed', () => auth.execute(async () => 'h2'));
    await auth.wrap(async () => 'h3')();
    const ops = Object.fromEntries(registry.entry('auth').stats.operations.map((op) => [op.name, op.counts[0]]));
    expect(ops).to.deep.equal({ execute: 2, hash_password: 1 });
  });
});

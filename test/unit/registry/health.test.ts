import { expect } from 'chai';
import { parseConfig } from '../../../src/config';
import { BreakerRegistry, healthOf, healthReport, isUnhealthy, statsOf } from '../../../src/registry';
import { boom, FakeClock } from '../core/fake-clock';

/** A registry breaker on a hand-moved clock; `call(ms)` is a guarded call that takes `ms`. */
function timedBreaker(options: { failureThreshold?: number; resetTimeoutMs?: number; fallback?: (...args: unknown[]) => unknown } = {}) {
  const clock = new FakeClock();
  const registry = new BreakerRegistry();
  const breaker = registry.get('auth', { failureThreshold: 2, resetTimeoutMs: 10_000, ...options, now: clock.now });
  const entry = registry.entry('auth');
  const call = (ms: number, fail = false): Promise<unknown> =>
    breaker
      .execute(async () => {
        clock.advance(ms);
        if (fail) throw boom();
        return ms;
      })
      .catch(() => undefined);
  return { clock, registry, breaker, entry, call };
}

describe('registry: health snapshots', () => {
  it('describes a fresh breaker as closed, with no transition and nothing to wait for', () => {
    const { entry } = timedBreaker();
    expect(healthOf(entry)).to.deep.equal({
      name: 'auth',
      module: 'manual',
      state: 'closed',
      mode: 'enforce',
      parent: null,
      target: null,
      consecutiveFailures: 0,
      failureRate: 0,
      retryAfterMs: null,
      refusing: false,
      advisory: false,
      lastTransition: null,
    });
  });

  it('shows an open breaker with its last transition and a retry time that counts down', async () => {
    const { clock, entry, call } = timedBreaker();
    await call(1, true);
    expect(healthOf(entry).consecutiveFailures).to.equal(1);
    const openedAt = clock.t + 1;
    await call(1, true);

    const h = healthOf(entry);
    expect(h.state).to.equal('open');
    expect(h.consecutiveFailures).to.equal(2);
    expect(h.lastTransition).to.deep.equal({
      from: 'closed',
      to: 'open',
      reason: 'failure_threshold',
      at: new Date(openedAt).toISOString(),
    });
    expect(h.retryAfterMs).to.equal(10_000);
    clock.advance(4_000);
    expect(healthOf(entry).retryAfterMs).to.equal(6_000);
    clock.advance(60_000);
    expect(healthOf(entry).retryAfterMs).to.equal(0);
  });

  it('stops reporting an outage once an open breaker with no traffic may try again: the next call is its trial', async () => {
    const { clock, entry, registry, call } = timedBreaker();
    await call(1, true);
    await call(1, true);
    expect(healthOf(entry)).to.include({ state: 'open', refusing: true });
    expect(healthReport(registry).status).to.equal('unhealthy');
    clock.advance(10_000);
    expect(healthOf(entry)).to.include({ state: 'open', refusing: false, retryAfterMs: 0 });
    expect(healthReport(registry)).to.include({ status: 'ok' });
    // The trial that follows decides: a failure refuses again for the next retry time.
    await call(1, true);
    expect(healthOf(entry)).to.include({ state: 'open', refusing: true });
  });

  it('treats open and forced_open as unhealthy, and half_open, closed and disabled as healthy', () => {
    expect(['closed', 'open', 'half_open', 'forced_open', 'disabled'].filter((s) => isUnhealthy(s as never))).to.deep.equal([
      'open',
      'forced_open',
    ]);
  });

  it('names the parent and target of a per-target child', () => {
    const registry = new BreakerRegistry(
      parseConfig('api:\n  per_target: true\n', '/srv/app/breakerbox.yaml', { env: {}, cwd: '/srv/app' }),
    );
    const h = healthOf(registry.child('api', 'https://pay.example.com:8443'));
    expect(h).to.include({ name: 'api@https://pay.example.com:8443', parent: 'api', target: 'https://pay.example.com:8443' });
  });
});

describe('registry: health of learned baselines (failure_rate / slow_call_duration: auto)', () => {
  it('shows what an auto breaker learnt and the thresholds in force, from a configured breaker', async () => {
    const clock = new FakeClock();
    const registry = new BreakerRegistry(
      parseConfig('payments:\n  failure_rate: auto\n  slow_call_duration: auto\n  window_size: 100\n', '/srv/app/breakerbox.yaml', {
        env: {},
        cwd: '/srv/app',
      }),
    );
    const breaker = registry.get('payments', { now: clock.now });
    expect(healthOf(registry.entry('payments')).baseline, 'cold').to.deep.equal({
      failureRate: 0,
      failureRateThreshold: 0.5,
      latencyMs: 0,
      slowCallMs: 0,
    });
    for (let i = 0; i < 700; i++) {
      clock.advance(10);
      await breaker
        .execute(async () => {
          clock.advance(30);
          if (i % 20 === 19) throw boom();
        })
        .catch(() => undefined);
    }
    const baseline = healthOf(registry.entry('payments')).baseline!;
    expect(baseline.failureRate).to.be.closeTo(0.05, 1e-4);
    expect(baseline.failureRateThreshold).to.be.within(0.15, 0.2);
    expect(baseline.latencyMs).to.be.closeTo(30, 1e-3);
    expect(baseline.slowCallMs).to.be.closeTo(60, 1e-3);
    expect(JSON.parse(JSON.stringify(healthOf(registry.entry('payments')))).baseline).to.deep.equal(baseline);
  });

  it('leaves baseline out for a breaker that learns nothing', () => {
    const { entry } = timedBreaker();
    expect(healthOf(entry)).not.to.have.property('baseline');
  });
});

describe('registry: per-target parents roll up their children', () => {
  const perTarget = (): BreakerRegistry =>
    new BreakerRegistry(
      parseConfig('api:\n  failure_threshold: 1\n  per_target: true\n', '/srv/app/breakerbox.yaml', { env: {}, cwd: '/srv/app' }),
    );

  it('shows the worst state, counts by state and which targets refuse calls, and is unhealthy while one does', async () => {
    const registry = perTarget();
    const a = registry.child('api', 'a:1').breaker;
    const b = registry.child('api', 'b:1').breaker;
    registry.child('api', 'c:1');
    await a.execute(() => Promise.reject(boom())).catch(() => undefined);
    await b.execute(async () => 1);
    const h = healthOf(registry.entry('api'), registry);
    expect(h.state).to.equal('closed');
    expect(h.targets).to.deep.equal({
      worstState: 'open',
      count: 3,
      byState: { closed: 2, open: 1, half_open: 0, forced_open: 0, disabled: 0 },
      refusing: ['a:1'],
    });
    expect(healthReport(registry).unhealthy).to.deep.equal(['api', 'api@a:1']);
  });

  it("sums its children's calls, evicted children included, so the roll-up never goes backwards", async () => {
    const registry = new BreakerRegistry(
      parseConfig('api:\n  per_target: true\n  max_targets: 1\n', '/srv/app/breakerbox.yaml', { env: {}, cwd: '/srv/app' }),
    );
    await registry.child('api', 'a:1').breaker.execute(async () => 1);
    await registry.child('api', 'b:1').breaker.execute(async () => 1);
    await registry
      .child('api', 'b:1')
      .breaker.execute(() => Promise.reject(boom()))
      .catch(() => undefined);
    const s = statsOf(registry.entry('api'), registry);
    expect(s.calls.success).to.equal(0);
    expect(s.targetCalls).to.include({ success: 2, failure: 1 });
  });
});

describe('registry: stats snapshots', () => {
  it('counts calls per outcome, including rejections and ignored errors', async () => {
    const registry = new BreakerRegistry();
    const b = registry.get('auth', { failureThreshold: 1, isFailure: (err) => (err as Error).message !== 'bad input' });
    await b.execute(async () => 1);
    await b.execute(async () => 2);
    await b.execute(() => Promise.reject(boom('bad input'))).catch(() => undefined);
    await b.execute(() => Promise.reject(boom('down'))).catch(() => undefined);
    await b.execute(async () => 3).catch(() => undefined);
    await b.execute(async () => 4).catch(() => undefined);

    const s = statsOf(registry.entry('auth'));
    expect(s.calls).to.deep.equal({ success: 2, failure: 1, ignored: 1, rejected: 2, timeout: 0 });
    expect(s.state).to.equal('open');
    expect(s.fallbacks).to.deep.equal({ success: 0, failure: 0 });
  });

  it('counts fallback results', async () => {
    let fallbackFails = false;
    const { breaker, entry, call } = timedBreaker({
      failureThreshold: 1,
      fallback: () => {
        if (fallbackFails) throw boom('fallback broke');
        return 'cached';
      },
    });
    await call(1, true);
    expect(await breaker.execute(async () => 'live')).to.equal('cached');
    fallbackFails = true;
    await breaker.execute(async () => 'live').catch(() => undefined);
    expect(statsOf(entry).fallbacks).to.deep.equal({ success: 2, failure: 1 });
  });

  it('reports no latency before any call reached the dependency', async () => {
    const registry = new BreakerRegistry();
    const b = registry.get('auth');
    b.forceOpen();
    await b.execute(async () => 1).catch(() => undefined);
    expect(statsOf(registry.entry('auth')).latencySeconds).to.deep.equal({ p50: null, p95: null, p99: null });
  });

  it('derives latency percentiles from the duration buckets, leaving rejections out', async () => {
    const { breaker, entry, call } = timedBreaker({ failureThreshold: 100 });
    // Ten calls of 3 ms: all in the (2.5 ms, 5 ms] bucket, interpolated like histogram_quantile.
    for (let i = 0; i < 10; i++) await call(3);
    const before = statsOf(entry).latencySeconds;
    expect(before.p50).to.be.closeTo(0.00375, 1e-9);
    expect(before.p95).to.be.closeTo(0.0025 + 0.0025 * 0.95, 1e-9);
    expect(before.p99).to.be.closeTo(0.0025 + 0.0025 * 0.99, 1e-9);

    breaker.forceOpen();
    for (let i = 0; i < 50; i++) await call(0);
    expect(statsOf(entry).latencySeconds).to.deep.equal(before);
    expect(statsOf(entry).calls.rejected).to.equal(50);
  });

  it('puts slow calls in the upper percentiles', async () => {
    const { entry, call } = timedBreaker({ failureThreshold: 100 });
    for (let i = 0; i < 90; i++) await call(1);
    for (let i = 0; i < 10; i++) await call(2_000);
    const { p50, p95, p99 } = statsOf(entry).latencySeconds;
    expect(p50).to.be.at.most(0.001);
    expect(p95).to.be.greaterThan(1).and.at.most(2.5);
    expect(p99).to.be.greaterThan(1).and.at.most(2.5);
  });

  it('records a recovery (first open to closed) once the breaker closes again', async () => {
    const { clock, breaker, entry, call } = timedBreaker({ failureThreshold: 1, resetTimeoutMs: 5_000 });
    await call(0, true);
    clock.advance(5_000);
    await call(0, true);
    expect(breaker.state).to.equal('open');
    clock.advance(10_000);
    await call(0);
    expect(breaker.state).to.equal('closed');
    const s = statsOf(entry);
    expect(s.recoveries).to.deep.equal({ count: 1, totalSeconds: 15 });
    expect(s.lastTransition).to.include({ from: 'half_open', to: 'closed', reason: 'trial_succeeded' });
  });
});

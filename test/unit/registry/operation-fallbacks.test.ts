/**
 * `registry.get(name, { fallback: { operation: fn } })`: checked when given (key, value and
 * what was expected in the message), applied to a breaker that already exists. What the
 * fallbacks do on real calls: test/integration/nats-outage.test.ts and nats-blip.test.ts.
 */
import { expect } from 'chai';
import { parseConfig } from '../../../src/config';
import { BreakerRegistry } from '../../../src/registry';
import { operationFallback } from '../../../src/registry/operation-fallbacks';

function registry(): BreakerRegistry {
  return new BreakerRegistry(parseConfig('circuit_breakers:\n  nats: {}\n  database: {}\n', 'test.yaml'));
}

describe('registry.get: a fallback per operation', () => {
  it('applies to a breaker created earlier, replaces the previous map, and {} removes it', () => {
    const r = registry();
    const existing = r.get('nats');
    const publish = (): string => 'local';
    expect(r.get('nats', { fallback: { publish } })).to.equal(existing);
    expect(operationFallback(existing, 'publish')).to.equal(publish);
    expect(operationFallback(existing, 'flush')).to.equal(null);
    // Not the breaker-wide fallback: other operations keep failing as they are.
    expect(existing.hasFallback()).to.equal(false);
    const flush = (): undefined => undefined;
    r.get('nats', { fallback: { flush } });
    expect(operationFallback(existing, 'publish')).to.equal(null);
    expect(operationFallback(existing, 'flush')).to.equal(flush);
    r.get('nats', { fallback: {} });
    expect(operationFallback(existing, 'flush')).to.equal(null);
  });

  it('refuses an operation the module does not have, naming it and the valid ones', () => {
    expect(() => registry().get('nats', { fallback: { publsh: () => 1 } })).to.throw(
      TypeError,
      'registry.get("nats", { fallback }): fallback.publsh: unknown operation, expected one of the nats operations: connect, publish, request, flush, subscribe',
    );
  });

  it('refuses a value that is not a function', () => {
    expect(() => registry().get('nats', { fallback: { publish: 'broadcast' as never } })).to.throw(
      TypeError,
      'registry.get("nats", { fallback }): fallback.publish: got string, expected a function',
    );
  });

  it('refuses the per-operation form on breakers whose patcher does not support it', () => {
    expect(() => registry().get('database', { fallback: { query: () => 1 } })).to.throw(
      TypeError,
      /a fallback per operation is supported on nats breakers only \(this breaker's module is pg\); give one function instead/,
    );
    expect(() => registry().get('auth', { fallback: { execute: () => 1 } })).to.throw(TypeError, /module is manual/);
  });
});

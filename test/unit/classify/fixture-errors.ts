import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** An error as a capture script wrote it: its own properties, nested errors summarised the same way. */
export interface Summary {
  name?: string;
  message?: string;
  [key: string]: unknown;
}

/** One captured case: what was done, the error it produced, and the verdict the classifier must give. */
export interface FixtureCase<Expected = { failure: boolean; kind: string }> {
  id: string;
  scenario: string;
  error: Summary;
  expected: Expected;
}

/** Read `fixtures/<file>` beside these tests. */
export function loadFixture<T>(file: string): T {
  return JSON.parse(readFileSync(join(__dirname, 'fixtures', file), 'utf8')) as T;
}

/** Keys whose value is one captured error (`chainedError` is the nats client's `cause`). */
const NESTED = new Set(['cause', 'chainedError']);

/** Rebuild an Error carrying the captured own properties, nested errors (cause, chainedError, errors) included. */
export function revive(s: Summary): Error {
  const err = new Error(s.message);
  const fields = err as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(s)) {
    if (key === 'className' || key === 'message') continue;
    if (NESTED.has(key)) fields[key] = revive(value as Summary);
    else if (key === 'errors') fields[key] = (value as Summary[]).map(revive);
    else fields[key] = value;
  }
  return err;
}

// Values that are not errors, for the "never throws" cases.

/** A proxy whose named traps throw. */
export function trappingProxy(...traps: Array<'get' | 'has' | 'getPrototypeOf'>): object {
  const handler: ProxyHandler<object> = {};
  for (const trap of traps) {
    handler[trap] = () => {
      throw new Error('trap');
    };
  }
  return new Proxy({}, handler);
}

/** A proxy that has been revoked: every operation on it throws. */
export function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/** An object whose `key` getter throws. */
export function throwingGetter(key: string): object {
  return Object.defineProperty({}, key, {
    get() {
      throw new Error('getter');
    },
  });
}

/** An object with `fields` whose `links` (cause, chainedError…) point back at itself. */
export function cyclic(fields: Record<string, unknown>, ...links: string[]): Record<string, unknown> {
  const value: Record<string, unknown> = { ...fields };
  for (const link of links) value[link] = value;
  return value;
}

import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * App-level operation names (`withOperation('save_player', fn)`): guarded calls made inside
 * `fn` are labelled with that name instead of the module method, when the breaker lists it
 * in `app_operations` (so labels stay a bounded set).
 */
const storage = new AsyncLocalStorage<string>();
let used = false;

export function withOperation<T>(name: string, fn: () => T): T {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError(`withOperation(name, fn): expected a non-empty operation name, got ${JSON.stringify(name)}`);
  }
  if (typeof fn !== 'function') throw new TypeError(`withOperation("${name}", fn): expected a function, got ${typeof fn}`);
  used = true;
  return storage.run(name, fn);
}

/** The app operation in effect, or undefined. Costs nothing until withOperation is first used. */
export function currentOperation(): string | undefined {
  return used ? storage.getStore() : undefined;
}

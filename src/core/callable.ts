/** Any function, called with any `this` and arguments: what the patchers wrap and pass on. */
export type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** True for values that can carry properties (objects and functions, not null). */
export function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** True for a promise or any other object or function with a `then` method. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return isObjectLike(value) && typeof (value as PromiseLike<unknown>).then === 'function';
}

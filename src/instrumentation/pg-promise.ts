/** pg's promises: what a patched call hands back when the app gave pg its own `Promise`. */

/** The argument list of a call that takes none (shared, never mutated). */
export const NO_ARGS: unknown[] = [];

/**
 * Gives the caller the library's own promise type. The closed path already chains on pg's
 * promise; rejections and fallbacks come back as native promises, which only differ when
 * the app passed its own `Promise` to the Client or Pool.
 */
export function libraryPromise(LibraryPromise: unknown, promise: Promise<unknown>): unknown {
  if (LibraryPromise === Promise || typeof LibraryPromise !== 'function' || promise instanceof LibraryPromise) return promise;
  const resolve = (LibraryPromise as { resolve?: unknown }).resolve;
  return typeof resolve === 'function' ? (resolve as (value: unknown) => unknown).call(LibraryPromise, promise) : promise;
}

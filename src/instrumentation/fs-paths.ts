/**
 * Turning fs call arguments into the absolute paths the `paths:` globs are matched against,
 * and those paths into per-target roots. Pure helpers: no I/O, nothing here throws.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The absolute, normalised path an fs call will act on, or null when the argument is not
 * one we guard: a file descriptor, a FileHandle, a non-`file:` URL, or anything Node itself
 * will refuse (wrong type, empty string, NUL byte). Refusals are left to Node so that its
 * argument errors stay exactly as they were, also while the breaker is open.
 *
 * Relative paths resolve against `process.cwd()` now, as the kernel will resolve them.
 * Matching is lexical: a symlink is judged by its own path, not by what it points to.
 */
export function fsPathOf(value: unknown): string | null {
  if (typeof value === 'string') return absolute(value);
  if (value instanceof Uint8Array) {
    return absolute(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  }
  if (typeof value === 'object' && value !== null) return fileUrlPath(value);
  return null;
}

function absolute(p: string): string | null {
  if (p.length === 0 || p.includes('\u0000')) return null;
  return isNormalAbsolute(p) ? p : path.resolve(p);
}

/**
 * Most paths apps pass are absolute and already normal; this runs on every call of a guarded
 * operation, and `path.resolve` would cost more than the glob match. No `//`, no `/.` (so no
 * `.`/`..` segments, and dot files take the slow path) and no trailing slash.
 */
function isNormalAbsolute(p: string): boolean {
  return (
    path.sep === '/' &&
    p.charCodeAt(0) === 47 &&
    p.indexOf('//') === -1 &&
    p.indexOf('/.') === -1 &&
    (p.length === 1 || p.charCodeAt(p.length - 1) !== 47)
  );
}

/** Node accepts `URL` instances and URL-like objects (its own `isURL` duck test) for paths. */
function fileUrlPath(value: object): string | null {
  try {
    const url = value as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown };
    if (!(value instanceof URL) && !(url.href && url.protocol && url.auth === undefined && url.path === undefined)) return null;
    if (url.protocol !== 'file:') return null;
    return absolute(fileURLToPath(value instanceof URL ? value : String(url.href)));
  } catch {
    // A throwing getter or a file URL Node rejects (host, encoded slash): Node reports it.
    return null;
  }
}

/**
 * For `per_target`: maps a guarded absolute path to its root, the first path segment below
 * the base (the part before any wildcard) of the glob that covers it. With `/srv/**`,
 * `/srv/data/rooms/a.json` → `/srv/data`; a path that is the base itself (a literal glob
 * such as `/dev/full`) is its own root. When globs nest, the longest base wins.
 */
export function compilePathRoots(globs: readonly string[]): (absPath: string) => string | null {
  const bases = [...new Set(globs.map(globBase))].sort((a, b) => b.length - a.length);
  return (absPath: string) => {
    for (const base of bases) {
      if (absPath === base) return base;
      const prefix = base.endsWith('/') ? base : `${base}/`;
      if (!absPath.startsWith(prefix)) continue;
      const rest = absPath.slice(prefix.length);
      const slash = rest.indexOf('/');
      return prefix + (slash === -1 ? rest : rest.slice(0, slash));
    }
    return null;
  };
}

function globBase(glob: string): string {
  // Loaded on first use: only breakers with `paths` get here (see config/paths.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const base = (require('picomatch') as typeof import('picomatch')).scan(glob).base;
  return base === '' ? '/' : path.normalize(base);
}

import * as path from 'node:path';

/**
 * A relative glob means "relative to where the app was started", fixed once at load time
 * so a later `process.chdir()` cannot change what is guarded. A trailing slash means
 * "everything under this directory", which is what people mean by `./data/`.
 */
export function resolveGlob(glob: string, cwd: string): string {
  const expanded = glob.endsWith('/') ? `${glob}**` : glob;
  return path.isAbsolute(expanded) ? path.normalize(expanded) : path.resolve(cwd, expanded);
}

/**
 * One compiled matcher for a breaker's globs; it runs on every guarded fs call, so all
 * parsing happens here once. Dot files count (`./data/**` covers `./data/.lock`).
 * `absPath` must already be absolute and normalised: the caller resolves fs arguments.
 */
export function compilePathMatcher(globs: readonly string[]): (absPath: string) => boolean {
  if (globs.length === 0) return () => false;
  // Loaded here, not at the top: `require('breakerbox')` reaches this file through the
  // config, and most processes have no path globs to compile.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const picomatch = require('picomatch') as typeof import('picomatch');
  const isMatch = picomatch([...globs], { dot: true });
  return (absPath: string) => isMatch(absPath);
}

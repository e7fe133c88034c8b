/**
 * The YAML parser, loaded on first use: it is the largest thing config needs, and most
 * processes that import breakerbox (a manual breaker, built-in defaults, no file) never
 * parse a document.
 */
export function yaml(): typeof import('yaml') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('yaml') as typeof import('yaml');
}

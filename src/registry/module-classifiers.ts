/* eslint-disable @typescript-eslint/no-require-imports */
import type { ModuleName } from '../config';
import type { ErrorVerdict } from '../core/types';

/**
 * The default "dependency is down" test for a module's breaker (DESIGN.md section 3).
 * Each classifier loads with the first breaker of its module: `require('breakerbox')` for a
 * manual CircuitBreaker needs none of them. The same function is returned every time (the
 * registry compares against it).
 */
export function classifierFor(module: ModuleName): ((err: unknown) => boolean | ErrorVerdict) | undefined {
  switch (module) {
    case 'pg':
      return (require('../classify/pg') as typeof import('../classify/pg')).pgVerdict;
    case 'nats':
      return (require('../classify/nats') as typeof import('../classify/nats')).isNatsFailure;
    case 'ws':
      return (require('../classify/ws') as typeof import('../classify/ws')).wsVerdict;
    case 'fs':
      return (require('../classify/fs') as typeof import('../classify/fs')).fsVerdict;
    default:
      return undefined;
  }
}

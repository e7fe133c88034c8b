import type { ModuleName } from '../config';
import type { ErrorVerdict } from '../core/types';
import { isFsFailure } from '../classify/fs';
import { isNatsFailure } from '../classify/nats';
import { pgVerdict } from '../classify/pg';
import { wsVerdict } from '../classify/ws';

/** The default "dependency is down" test for a module's breaker (DESIGN.md section 3). */
export function classifierFor(module: ModuleName): ((err: unknown) => boolean | ErrorVerdict) | undefined {
  switch (module) {
    case 'pg':
      return pgVerdict;
    case 'nats':
      return isNatsFailure;
    case 'ws':
      return wsVerdict;
    case 'fs':
      return isFsFailure;
    default:
      return undefined;
  }
}

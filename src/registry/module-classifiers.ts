import type { ModuleName } from '../config';
import { isFsFailure } from '../classify/fs';
import { isNatsFailure } from '../classify/nats';
import { isPgFailure } from '../classify/pg';
import { isWsFailure } from '../classify/ws';

/** The default "dependency is down" test for a module's breaker (DESIGN.md section 3). */
export function classifierFor(module: ModuleName): ((err: unknown) => boolean) | undefined {
  switch (module) {
    case 'pg':
      return isPgFailure;
    case 'nats':
      return isNatsFailure;
    case 'ws':
      return isWsFailure;
    case 'fs':
      return isFsFailure;
    default:
      return undefined;
  }
}

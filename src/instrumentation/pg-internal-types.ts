/** The pg and pg-pool shapes the patches read and write (pg 8, pg-pool 2 and 3). */
import type { AnyFunction } from '../core/callable';
import type { TransactionAware } from './pg-transaction';
import type { ConnectionFields } from './pg-target';

/** What the patches touch on a pg Client. */
export interface PgClient extends ConnectionFields, TransactionAware {
  _Promise?: unknown;
  connection?: unknown;
}

/** What the patches touch on a pg-pool Pool. */
export interface PgPool {
  options?: unknown;
  Promise?: unknown;
}

/** pg's Submittable protocol (pg.Query, pg-cursor, pg-query-stream). */
export interface Submittable {
  submit: AnyFunction;
  handleError?: unknown;
  callback?: unknown;
  text?: unknown;
}

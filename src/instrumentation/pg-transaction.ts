/**
 * Transaction awareness for the pg patcher: which statements open or close a transaction
 * block, and which clients are inside one.
 *
 * A breaker that opens in the middle of BEGIN … COMMIT must not reject the rest of that
 * transaction: the app would be left with a connection stuck in a transaction (returned to
 * the pool that way) or with work it meant to commit only half applied. So only statements
 * that start new work are gated (BEGIN, standalone statements); statements inside a
 * transaction and every statement that ends one are let through and only observed.
 *
 * Classification reads the leading keyword (and, for the rare transaction-control
 * statements, the few words after it), skipping whitespace and comments, without building
 * strings: it runs on every query.
 */

/** Any statement that is not transaction control: gated unless inside a transaction. */
export const STATEMENT = 0;
/** BEGIN, START TRANSACTION: gated; once admitted, the client is in a transaction. */
export const OPENS = 1;
/** COMMIT, END, ROLLBACK, ABORT (a failed COMMIT ends the block too), PREPARE TRANSACTION: never rejected. */
export const CLOSES = 2;
/** COMMIT/ROLLBACK … AND CHAIN: ends one transaction and starts the next; never rejected. */
export const CHAINS = 3;
/** ROLLBACK TO SAVEPOINT, COMMIT/ROLLBACK PREPARED: never rejected, transaction state unchanged. */
export const RESOLVES = 4;

export type StatementKind = typeof STATEMENT | typeof OPENS | typeof CLOSES | typeof CHAINS | typeof RESOLVES;

const LOWER = 0x20;

/** Index of the first character that is not whitespace or inside a comment. */
function skipIgnorable(text: string, i: number): number {
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) {
      i++;
    } else if (c === 45 /* - */ && text.charCodeAt(i + 1) === 45) {
      i += 2;
      while (i < n && text.charCodeAt(i) !== 10) i++;
    } else if (c === 47 /* / */ && text.charCodeAt(i + 1) === 42 /* * */) {
      // Postgres block comments nest.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        const d = text.charCodeAt(i);
        if (d === 47 && text.charCodeAt(i + 1) === 42) {
          depth++;
          i += 2;
        } else if (d === 42 && text.charCodeAt(i + 1) === 47) {
          depth--;
          i += 2;
        } else {
          i++;
        }
      }
    } else {
      return i;
    }
  }
  return n;
}

function isWordChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 36 || c >= 128;
}

/** If the keyword `word` (lower case) starts at `i`, the index after it; else -1. */
function keywordAt(text: string, i: number, word: string): number {
  const n = word.length;
  if (i + n > text.length) return -1;
  for (let k = 0; k < n; k++) {
    if ((text.charCodeAt(i + k) | LOWER) !== word.charCodeAt(k)) return -1;
  }
  return i + n < text.length && isWordChar(text.charCodeAt(i + n)) ? -1 : i + n;
}

/** After COMMIT/END/ROLLBACK/ABORT: skips `WORK`/`TRANSACTION`, then reads what follows. */
function endingKind(text: string, i: number, rollback: boolean, maybePrepared: boolean): StatementKind {
  i = skipIgnorable(text, i);
  const filler = keywordAt(text, i, 'work');
  const tx = filler < 0 ? keywordAt(text, i, 'transaction') : filler;
  if (tx >= 0) {
    i = skipIgnorable(text, tx);
  } else if (maybePrepared && keywordAt(text, i, 'prepared') >= 0) {
    // Two-phase commit's second step runs outside any transaction block.
    return RESOLVES;
  }
  if (rollback && keywordAt(text, i, 'to') >= 0) return RESOLVES;
  const and = keywordAt(text, i, 'and');
  if (and < 0) return CLOSES;
  return keywordAt(text, skipIgnorable(text, and), 'chain') >= 0 ? CHAINS : CLOSES;
}

/** How a statement affects the transaction state. Anything but a string is a plain statement. */
export function classifyStatement(text: unknown): StatementKind {
  if (typeof text !== 'string') return STATEMENT;
  const i = skipIgnorable(text, 0);
  if (i >= text.length) return STATEMENT;
  let j: number;
  switch (text.charCodeAt(i) | LOWER) {
    case 98: // b
      return keywordAt(text, i, 'begin') >= 0 ? OPENS : STATEMENT;
    case 115: // s
      j = keywordAt(text, i, 'start');
      return j >= 0 && keywordAt(text, skipIgnorable(text, j), 'transaction') >= 0 ? OPENS : STATEMENT;
    case 99: // c
      j = keywordAt(text, i, 'commit');
      return j >= 0 ? endingKind(text, j, false, true) : STATEMENT;
    case 101: // e
      j = keywordAt(text, i, 'end');
      return j >= 0 ? endingKind(text, j, false, false) : STATEMENT;
    case 114: // r
      j = keywordAt(text, i, 'rollback');
      return j >= 0 ? endingKind(text, j, true, true) : STATEMENT;
    case 97: // a
      j = keywordAt(text, i, 'abort');
      return j >= 0 ? endingKind(text, j, false, false) : STATEMENT;
    case 112: // p
      j = keywordAt(text, i, 'prepare');
      return j >= 0 && keywordAt(text, skipIgnorable(text, j), 'transaction') >= 0 ? CLOSES : STATEMENT;
    default:
      return STATEMENT;
  }
}

/** What the tracker reads from a pg Client; all optional, as older pg versions lack some. */
export interface TransactionAware {
  getTransactionStatus?: () => string | null;
  readyForQuery?: unknown;
  _activeQuery?: unknown;
  _queryQueue?: unknown;
  _sentQueryQueue?: unknown;
}

/**
 * Which clients are inside a transaction, as issued: a statement counts from the moment the
 * app issues it, so a query queued right behind BEGIN is already inside.
 *
 * Keyed by the client object in a WeakSet (nothing is stored on the client), shared by every
 * patch of the process so a disable/enable cycle keeps what it knew.
 */
export class TransactionTracker {
  private readonly open = new WeakSet<object>();

  opened(client: object): void {
    this.open.add(client);
  }

  closed(client: object): void {
    this.open.delete(client);
  }

  /**
   * Whether `client` is inside a transaction. Only asked when a breaker is not closed, so it
   * may look harder: when the client has nothing in flight, the server's own transaction
   * status from its last ReadyForQuery (pg >= 8.14) is the truth, and corrects what keywords
   * cannot see (a multi-statement string "BEGIN; …; COMMIT", a BEGIN that failed).
   */
  inTransaction(client: object): boolean {
    const server = serverTransactionState(client as TransactionAware);
    if (server === null) return this.open.has(client);
    if (server) this.open.add(client);
    else this.open.delete(client);
    return server;
  }
}

/** The server's view when the client is idle and reports it; null when unknown or busy. */
function serverTransactionState(client: TransactionAware): boolean | null {
  try {
    if (typeof client.getTransactionStatus !== 'function') return null;
    // With statements queued or in flight the last ReadyForQuery predates them: keywords know
    // better. That includes a statement whose error was just delivered: pg drops it as active
    // before the ReadyForQuery that carries the new status has arrived.
    if (client.readyForQuery !== true) return null;
    if (client._activeQuery !== null && client._activeQuery !== undefined) return null;
    if (!isEmptyArray(client._queryQueue)) return null;
    if (client._sentQueryQueue !== undefined && !isEmptyArray(client._sentQueryQueue)) return null;
    const status = client.getTransactionStatus();
    // 'I' idle, 'T' in a transaction block, 'E' in a failed one (still open until ROLLBACK).
    if (status === 'I') return false;
    if (status === 'T' || status === 'E') return true;
    return null;
  } catch {
    return null;
  }
}

function isEmptyArray(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}

/** Process-wide: transaction state belongs to the connection, not to one instrumentation. */
export const transactions = new TransactionTracker();

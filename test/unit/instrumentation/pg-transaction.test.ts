import { expect } from 'chai';
import {
  CHAINS,
  CLOSES,
  classifyStatement,
  OPENS,
  RESOLVES,
  STATEMENT,
  TransactionTracker,
} from '../../../src/instrumentation/pg-transaction';

describe('pg patcher: which statements open and close a transaction', () => {
  const cases: [string, number][] = [
    ['BEGIN', OPENS],
    ['begin', OPENS],
    ['Begin;', OPENS],
    ['BEGIN ISOLATION LEVEL SERIALIZABLE', OPENS],
    ['BEGIN WORK', OPENS],
    ['  \n\t BEGIN', OPENS],
    ['-- a comment\nBEGIN', OPENS],
    ['/* one */ /* two /* nested */ still comment */ begin', OPENS],
    ['START TRANSACTION', OPENS],
    ['start   transaction read only', OPENS],
    ['START', STATEMENT],
    ['COMMIT', CLOSES],
    ['commit work', CLOSES],
    ['COMMIT TRANSACTION;', CLOSES],
    ['COMMIT AND NO CHAIN', CLOSES],
    ['COMMIT AND CHAIN', CHAINS],
    ['END', CLOSES],
    ['end transaction', CLOSES],
    ['ROLLBACK', CLOSES],
    ['rollback;', CLOSES],
    ['ROLLBACK WORK AND CHAIN', CHAINS],
    ['ABORT', CLOSES],
    ['ROLLBACK TO SAVEPOINT a', RESOLVES],
    ['rollback to a', RESOLVES],
    ['ROLLBACK TRANSACTION TO SAVEPOINT a', RESOLVES],
    ["ROLLBACK PREPARED 'gid'", RESOLVES],
    ["COMMIT PREPARED 'gid'", RESOLVES],
    ["PREPARE TRANSACTION 'gid'", CLOSES],
    ['PREPARE plan AS SELECT 1', STATEMENT],
    ['SELECT 1', STATEMENT],
    ['select begin from t', STATEMENT],
    ['INSERT INTO t VALUES (1)', STATEMENT],
    ['SAVEPOINT a', STATEMENT],
    ['RELEASE SAVEPOINT a', STATEMENT],
    ['BEGINNING', STATEMENT],
    ['COMMITTED', STATEMENT],
    ['ending', STATEMENT],
    ['rollbacks', STATEMENT],
    ['abort_job()', STATEMENT],
    ['commit_ts', STATEMENT],
    ['begin_', STATEMENT],
    ['-- BEGIN\nSELECT 1', STATEMENT],
    ['/* BEGIN */ SELECT 1', STATEMENT],
    ['/* unterminated BEGIN', STATEMENT],
    ['--', STATEMENT],
    ['', STATEMENT],
  ];
  for (const [sql, kind] of cases) {
    it(`reads ${JSON.stringify(sql)} as ${['a plain statement', 'opening', 'closing', 'chaining', 'resolving'][kind]}`, () => {
      expect(classifyStatement(sql)).to.equal(kind);
    });
  }

  it('treats anything but a string (a prepared statement by name, no text) as a plain statement', () => {
    expect(classifyStatement(undefined)).to.equal(STATEMENT);
    expect(classifyStatement(42)).to.equal(STATEMENT);
    expect(classifyStatement({ text: 'BEGIN' })).to.equal(STATEMENT);
  });
});

describe('pg patcher: transaction tracking per client', () => {
  it('remembers what the issued statements said, per client object', () => {
    const t = new TransactionTracker();
    const a = {};
    const b = {};
    t.opened(a);
    // Neither object has a server status to ask: inTransaction is what the keywords said.
    expect(t.inTransaction(a)).to.equal(true);
    expect(t.inTransaction(b)).to.equal(false);
    t.closed(a);
    expect(t.inTransaction(a)).to.equal(false);
  });

  it("lets an idle client's server status correct the keywords (multi-statement strings, failed BEGIN)", () => {
    const t = new TransactionTracker();
    const idle = {
      status: 'I',
      getTransactionStatus() {
        return this.status;
      },
      readyForQuery: true,
      _activeQuery: null,
      _queryQueue: [] as unknown[],
    };
    t.opened(idle);
    expect(t.inTransaction(idle)).to.equal(false);
    // The correction is remembered: once busy (keywords trusted again) it is still out of a transaction.
    idle.readyForQuery = false;
    expect(t.inTransaction(idle)).to.equal(false);
    idle.readyForQuery = true;
    idle.status = 'E';
    expect(t.inTransaction(idle)).to.equal(true);
    idle.status = 'T';
    expect(t.inTransaction(idle)).to.equal(true);
  });

  it('trusts the keywords while statements are queued or in flight, or the status is unknown', () => {
    const t = new TransactionTracker();
    const busy = { getTransactionStatus: () => 'I', readyForQuery: false, _activeQuery: {}, _queryQueue: [] };
    const queued = { getTransactionStatus: () => 'I', readyForQuery: true, _activeQuery: null, _queryQueue: [{}] };
    // An error was delivered, the ReadyForQuery with the new status has not arrived yet.
    const answered = { getTransactionStatus: () => 'T', readyForQuery: false, _activeQuery: null, _queryQueue: [] };
    const unknown = { getTransactionStatus: () => null, readyForQuery: true, _activeQuery: null, _queryQueue: [] };
    const old = {};
    for (const c of [busy, queued, unknown, old]) {
      t.opened(c);
      expect(t.inTransaction(c)).to.equal(true);
    }
    expect(t.inTransaction(answered)).to.equal(false);
  });

  it('never throws on a client whose status getter throws', () => {
    const t = new TransactionTracker();
    const broken = {
      getTransactionStatus: () => {
        throw new Error('x');
      },
      readyForQuery: true,
      _activeQuery: null,
      _queryQueue: [],
    };
    expect(t.inTransaction(broken)).to.equal(false);
  });
});

/**
 * A Postgres backend that lives in the client's own process: a Duplex pg connects to through
 * its `stream` option. It answers the start-up and every simple query with one row, so a
 * query costs what pg (and whatever wraps it) spends on the client side, and nothing of the
 * network or the server: what is left to compare is the patch's own work.
 */
import { Duplex } from 'node:stream';

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

const READY = message('Z', Buffer.from('I'));
const STARTUP_REPLY = Buffer.concat([message('R', int32(0)), message('K', Buffer.concat([int32(1), int32(2)])), READY]);
// RowDescription (one int4 column "?column?"), DataRow ("1"), CommandComplete, ReadyForQuery.
const COLUMN = Buffer.concat([
  Buffer.from('?column?\0'),
  int32(0),
  Buffer.from([0, 0]),
  int32(23),
  Buffer.from([0, 4]),
  int32(-1),
  Buffer.from([0, 0]),
]);
const QUERY_REPLY = Buffer.concat([
  message('T', Buffer.concat([Buffer.from([0, 1]), COLUMN])),
  message('D', Buffer.concat([Buffer.from([0, 1]), int32(1), Buffer.from('1')])),
  message('C', Buffer.from('SELECT 1\0')),
  READY,
]);

/** One connection's worth of fake backend. pg calls connect/setNoDelay/setKeepAlive on its stream. */
export class StubBackend extends Duplex {
  private started = false;
  private pending: Buffer = Buffer.alloc(0);

  connect(): this {
    process.nextTick(() => this.emit('connect'));
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  override _read(): void {
    // Replies are pushed as requests arrive.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (!this.started) {
        if (this.pending.length < 4) break;
        const len = this.pending.readInt32BE(0);
        if (this.pending.length < len) break;
        this.pending = this.pending.subarray(len);
        this.started = true;
        this.push(STARTUP_REPLY);
        continue;
      }
      if (this.pending.length < 5) break;
      const len = this.pending.readInt32BE(1) + 1;
      if (this.pending.length < len) break;
      const type = String.fromCharCode(this.pending[0]);
      this.pending = this.pending.subarray(len);
      if (type === 'Q') this.push(QUERY_REPLY);
      else if (type === 'X') this.push(null);
    }
    done();
  }
}

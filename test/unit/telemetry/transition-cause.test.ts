import { expect } from 'chai';
import * as net from 'node:net';
import { InMemorySpanExporter, BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { BreakerRegistry } from '../../../src/registry';
import { startTelemetry } from '../../../src/telemetry';
import { FakeClock } from '../core/fake-clock';

/** A real ECONNREFUSED: a port that was just listening and is now closed. */
async function refusedConnect(): Promise<{ port: number; connect: () => Promise<never> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  const connect = (): Promise<never> =>
    new Promise((_, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('error', reject);
    });
  return { port, connect };
}

/** A pg-shaped server error whose message quotes the SQL (as some do): it must not leak. */
class DatabaseError extends Error {
  code = '57P01';
}

describe('telemetry: the error that opened a breaker', () => {
  let written: string[];
  let exporter: InMemorySpanExporter;
  let registry: BreakerRegistry;

  beforeEach(() => {
    written = [];
    exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    registry = new BreakerRegistry();
    startTelemetry({ registry, tracer: provider.getTracer('breakerbox'), writeLog: (l) => written.push(l) });
  });

  const lines = (): Record<string, unknown>[] => written.map((l) => JSON.parse(l) as Record<string, unknown>);

  it('names its code, class and target in the log line and the span, and nothing of its message', async () => {
    const { port, connect } = await refusedConnect();
    const b = registry.get('payments', { failureThreshold: 1 });
    await b.execute(connect).catch(() => undefined);
    expect(b.state).to.equal('open');
    const [line] = lines();
    expect(line).to.include({ to: 'open', error_code: 'ECONNREFUSED', error_class: 'Error', target: `127.0.0.1:${port}` });
    expect(JSON.stringify(line)).to.not.include('connect ECONNREFUSED');
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'circuit_breaker.transition');
    expect(span.attributes).to.include({
      'circuit_breaker.error_code': 'ECONNREFUSED',
      'circuit_breaker.error_class': 'Error',
      'circuit_breaker.target': `127.0.0.1:${port}`,
    });
  });

  it("gives a per-target child's target from its name, and never the SQL text of a message", async () => {
    const b = registry.get('database@db.internal:5432/app', { failureThreshold: 1 });
    await b
      .execute(() => Promise.reject(new DatabaseError("terminating connection: SELECT * FROM users WHERE pw = 'x'")))
      .catch(() => undefined);
    const [line] = lines();
    expect(line).to.include({ error_code: '57P01', error_class: 'DatabaseError', target: 'db.internal:5432/app' });
    expect(JSON.stringify(line)).to.not.include('SELECT');
  });

  it('says nothing of an error on transitions no error caused', async () => {
    const clock = new FakeClock();
    const b = registry.get('auth', { failureThreshold: 1, resetTimeoutMs: 1000, now: clock.now });
    await b.execute(() => Promise.reject(Object.assign(new Error('x'), { code: 'EIO' }))).catch(() => undefined);
    clock.advance(1000);
    await b.execute(async () => 1);
    const [, halfOpen, closed] = lines();
    expect(halfOpen).to.not.have.property('error_code');
    expect(closed).to.not.have.property('error_code');
  });

  it('rounds recovery_seconds to the millisecond', async () => {
    const clock = new FakeClock(1_000_000.123456);
    const b = registry.get('auth', { failureThreshold: 1, resetTimeoutMs: 1000, now: clock.now });
    await b.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    clock.advance(1234.5678901);
    await b.execute(async () => 1);
    const closed = lines().find((l) => l.to === 'closed');
    expect(closed?.recovery_seconds).to.equal(1.235);
  });
});

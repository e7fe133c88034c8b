import { expect } from 'chai';
import { context, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { BreakerRegistry } from '../../../src/registry';
import { startTelemetry } from '../../../src/telemetry';
import { boom, FakeClock } from '../core/fake-clock';

describe('telemetry: transition spans and rejection events', () => {
  let ownContextManager = false;
  let exporter: InMemorySpanExporter;
  let provider: BasicTracerProvider;
  let registry: BreakerRegistry;

  before(() => {
    // Links and span events depend on the active span following the async call, as it does
    // under the NodeSDK; keep another suite's manager if one is already registered.
    ownContextManager = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });
  after(() => {
    if (ownContextManager) context.disable();
  });

  beforeEach(() => {
    exporter = new InMemorySpanExporter();
    provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    registry = new BreakerRegistry();
    startTelemetry({ registry, tracer: provider.getTracer('breakerbox'), writeLog: () => undefined });
  });
  afterEach(() => provider.shutdown());

  const tracer = () => provider.getTracer('app');
  const transitions = (): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === 'circuit_breaker.transition');

  it('records one circuit_breaker.transition span per transition, linked to the span of the call that tripped it', async () => {
    const b = registry.get('auth', { failureThreshold: 2 });
    let request: Span | undefined;
    await tracer().startActiveSpan('GET /login', async (span) => {
      request = span;
      await b.execute(() => Promise.reject(boom())).catch(() => undefined);
      await b.execute(() => Promise.reject(boom())).catch(() => undefined);
      span.end();
    });

    const spans = transitions();
    expect(spans).to.have.length(1);
    const t = spans[0];
    expect(t.attributes).to.include({ breaker: 'auth', from: 'closed', to: 'open', reason: 'failure_threshold' });
    expect(t.attributes['circuit_breaker.consecutive_failures']).to.equal(2);
    expect(t.links).to.have.length(1);
    expect(t.links[0].context.traceId).to.equal(request!.spanContext().traceId);
    expect(t.links[0].context.spanId).to.equal(request!.spanContext().spanId);
    // A link, not a parent: the outage outlives the request that revealed it.
    expect(t.parentSpanContext).to.equal(undefined);
    expect(t.spanContext().traceId).to.not.equal(request!.spanContext().traceId);
  });

  it('links the trial outcome to the span of the trial call', async () => {
    const clock = new FakeClock();
    const b = registry.get('auth', { failureThreshold: 1, resetTimeoutMs: 1_000, now: clock.now });
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    clock.advance(1_000);
    let trial: Span | undefined;
    await tracer().startActiveSpan('trial request', async (span) => {
      trial = span;
      await b.execute(async () => 'ok');
      span.end();
    });

    const spans = transitions();
    expect(spans.map((s) => `${s.attributes.from}>${s.attributes.to}:${s.attributes.reason}`)).to.deep.equal([
      'closed>open:failure_threshold',
      'open>half_open:reset_timeout',
      'half_open>closed:trial_succeeded',
    ]);
    for (const s of spans.slice(1)) expect(s.links.map((l) => l.context.spanId)).to.deep.equal([trial!.spanContext().spanId]);
  });

  it('records operator transitions made outside any request without links', () => {
    const b = registry.get('auth');
    b.forceOpen();
    b.close();
    const spans = transitions();
    expect(spans.map((s) => [s.attributes.to, s.attributes.reason])).to.deep.equal([
      ['forced_open', 'forced_open'],
      ['closed', 'closed_by_operator'],
    ]);
    for (const s of spans) expect(s.links).to.deep.equal([]);
  });

  it('adds a circuit_breaker.rejected event to the span of a refused call', async () => {
    const clock = new FakeClock();
    const b = registry.get('auth', { failureThreshold: 1, resetTimeoutMs: 5_000, now: clock.now });
    await b.execute(() => Promise.reject(boom())).catch(() => undefined);
    clock.advance(1_500);
    let invoked = false;
    await tracer().startActiveSpan('GET /login', async (span) => {
      const err = await b
        .execute(async () => {
          invoked = true;
        })
        .catch((e: { code?: string }) => e);
      expect(err).to.have.property('code', 'ECIRCUITOPEN');
      span.end();
    });
    expect(invoked).to.equal(false);

    const request = exporter.getFinishedSpans().find((s) => s.name === 'GET /login')!;
    expect(request.events.map((e) => e.name)).to.deep.equal(['circuit_breaker.rejected']);
    expect(request.events[0].attributes).to.deep.equal({ breaker: 'auth', state: 'open', retry_after_ms: 3_500 });
  });

  it('leaves spans alone when a call goes through, and adds nothing when no span is active', async () => {
    const b = registry.get('auth', { failureThreshold: 1 });
    await tracer().startActiveSpan('ok request', async (span) => {
      await b.execute(async () => 'ok');
      span.end();
    });
    b.forceOpen();
    expect(trace.getActiveSpan()).to.equal(undefined);
    await b.execute(async () => 'x').catch(() => undefined);
    const request = exporter.getFinishedSpans().find((s) => s.name === 'ok request')!;
    expect(request.events).to.deep.equal([]);
    // No span per guarded call unless tracing.call_spans is on.
    expect(exporter.getFinishedSpans().map((s) => s.name)).to.deep.equal(['ok request', 'circuit_breaker.transition']);
  });

  it('records one circuit_breaker.call span per guarded call when call spans are on, as a child of the caller', async () => {
    const own = new BreakerRegistry();
    startTelemetry({ registry: own, tracer: provider.getTracer('breakerbox'), callSpans: true, writeLog: () => undefined });
    const b = own.get('auth', { failureThreshold: 5 });
    await tracer().startActiveSpan('request', async (span) => {
      await b.execute(async () => 'ok');
      await b.execute(() => Promise.reject(boom())).catch(() => undefined);
      span.end();
    });
    const request = exporter.getFinishedSpans().find((s) => s.name === 'request')!;
    const calls = exporter.getFinishedSpans().filter((s) => s.name === 'circuit_breaker.call');
    expect(calls.map((s) => s.attributes.outcome)).to.deep.equal(['success', 'failure']);
    for (const c of calls) expect(c.parentSpanContext?.spanId).to.equal(request.spanContext().spanId);
  });
});

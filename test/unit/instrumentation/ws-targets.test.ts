import { expect } from 'chai';
import {
  backpressuredDuration,
  handshakeOrigin,
  isWsHandshakeOptions,
  originFromUrl,
  serverTarget,
} from '../../../src/instrumentation/ws-targets';

/** The shape of the options object ws 8 passes to http.request for a handshake. */
function wsOptions(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    protocolVersion: 13,
    maxPayload: 100 * 1024 * 1024,
    createConnection: () => undefined,
    host: '127.0.0.1',
    port: '8080',
    headers: { 'Sec-WebSocket-Version': 13, 'Sec-WebSocket-Key': 'abc==', Connection: 'Upgrade', Upgrade: 'websocket' },
    ...over,
  };
}

describe('ws patcher helpers: recognising a ws handshake', () => {
  it('recognises the options ws builds for an opening handshake', () => {
    expect(isWsHandshakeOptions(wsOptions())).to.equal(true);
  });

  it('leaves other requests alone, including upgrade requests that ws did not build', () => {
    expect(isWsHandshakeOptions(undefined)).to.equal(false);
    expect(isWsHandshakeOptions('http://example.com/')).to.equal(false);
    expect(isWsHandshakeOptions(new URL('http://example.com/'))).to.equal(false);
    expect(isWsHandshakeOptions({ host: 'a', headers: { Upgrade: 'websocket', 'Sec-WebSocket-Key': 'k' } })).to.equal(false);
    expect(isWsHandshakeOptions(wsOptions({ headers: { Upgrade: 'h2c' } }))).to.equal(false);
    expect(isWsHandshakeOptions(wsOptions({ headers: ['Upgrade', 'websocket'] }))).to.equal(false);
    expect(isWsHandshakeOptions(wsOptions({ createConnection: undefined }))).to.equal(false);
  });

  it('never throws on hostile option objects', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('boom');
        },
        has() {
          throw new Error('boom');
        },
      },
    );
    expect(isWsHandshakeOptions(hostile)).to.equal(false);
  });
});

describe('ws patcher helpers: target names', () => {
  it('names a client target by scheme, host and port only', () => {
    expect(handshakeOrigin(wsOptions() as never, false)).to.equal('ws://127.0.0.1:8080');
    expect(handshakeOrigin(wsOptions({ host: 'example.com', port: 443 }) as never, true)).to.equal('wss://example.com:443');
    expect(handshakeOrigin(wsOptions({ port: undefined }) as never, false)).to.equal('ws://127.0.0.1:80');
    expect(handshakeOrigin(wsOptions({ host: '::1', port: '9000' }) as never, false)).to.equal('ws://[::1]:9000');
    expect(handshakeOrigin(wsOptions({ socketPath: '/run/app.sock', host: '' }) as never, false)).to.equal('ws+unix:/run/app.sock');
  });

  it('gives a URL and its handshake the same origin, whatever the path, query or credentials', () => {
    expect(originFromUrl('ws://127.0.0.1:8080/chat?token=secret')).to.equal('ws://127.0.0.1:8080');
    expect(originFromUrl('ws://user:pw@Example.COM/x')).to.equal('ws://example.com:80');
    expect(originFromUrl('wss://example.com/')).to.equal('wss://example.com:443');
    expect(originFromUrl('https://example.com:8443/')).to.equal('wss://example.com:8443');
    expect(originFromUrl('ws://[::1]:9000/')).to.equal('ws://[::1]:9000');
    expect(originFromUrl('ws+unix:/run/app.sock:/chat')).to.equal('ws+unix:/run/app.sock');
  });

  it('answers null for what is not a URL', () => {
    expect(originFromUrl(undefined)).to.equal(null);
    expect(originFromUrl('')).to.equal(null);
    expect(originFromUrl('not a url')).to.equal(null);
  });

  it('names a server-side socket by its server port', () => {
    expect(serverTarget(8080)).to.equal('server:8080');
    expect(serverTarget(undefined)).to.equal('server');
    expect(serverTarget(0)).to.equal('server');
  });
});

describe('ws patcher helpers: a send that met backpressure', () => {
  it('is recorded as lasting at least slowCallMs', () => {
    expect(backpressuredDuration(0.2, 50)).to.equal(50);
    expect(backpressuredDuration(80, 50)).to.equal(80);
  });

  it('keeps the measured time when the breaker has no slow-call threshold', () => {
    expect(backpressuredDuration(0.2, 0)).to.equal(0.2);
  });
});

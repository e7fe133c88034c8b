import { expect } from 'chai';
import { connectTarget, serverTarget } from '../../../src/instrumentation/nats-target';

describe('nats per-target keys', () => {
  it('spells a server the way the client reports it in status events (host:port, default port 4222)', () => {
    expect(serverTarget('127.0.0.1:4222')).to.equal('127.0.0.1:4222');
    expect(serverTarget('nats://127.0.0.1:4223')).to.equal('127.0.0.1:4223');
    expect(serverTarget('localhost')).to.equal('localhost:4222');
    expect(serverTarget(' nats://LocalHost:4223 ')).to.equal('localhost:4223');
    expect(serverTarget('tls://user:secret@demo.nats.io')).to.equal('demo.nats.io:4222');
    expect(serverTarget('nats://h:80')).to.equal('h:80');
  });

  it('brackets IPv6 literals, with or without a port', () => {
    expect(serverTarget('[::1]:4222')).to.equal('[::1]:4222');
    expect(serverTarget('[::1]')).to.equal('[::1]:4222');
    expect(serverTarget('::1')).to.equal('[::1]:4222');
  });

  it('keys a connect() call on the first server it will try', () => {
    expect(connectTarget(undefined)).to.equal('127.0.0.1:4222');
    expect(connectTarget({})).to.equal('127.0.0.1:4222');
    expect(connectTarget({ servers: 'nats://a:1' })).to.equal('a:1');
    expect(connectTarget({ servers: ['b:2', 'c:3'] })).to.equal('b:2');
    expect(connectTarget({ servers: [] })).to.equal('127.0.0.1:4222');
    expect(connectTarget({ port: 4333 })).to.equal('127.0.0.1:4333');
  });

  it('gives unparsable input a key of its own instead of throwing', () => {
    expect(serverTarget('http://[bad')).to.be.a('string');
    expect(connectTarget({ servers: [42] })).to.equal('127.0.0.1:4222');
  });
});

/**
 * call_timeout on nats `connect()`: a connection that completes after the caller got
 * ECIRCUITTIMEOUT is closed, instead of living on in the background (reconnecting,
 * holding a socket and keeping the process alive). A stalled TCP proxy in front of the
 * shared nats-server makes the connect late.
 */
import { expect } from 'chai';
import { eventually } from '../helpers/eventually';
import { natsAvailable, requireService } from '../helpers/require-services';
import { startTcpFaultProxy, type TcpFaultProxy } from '../helpers/tcp-fault-proxy';
import { instrumentNats, type NatsHarness } from '../fixtures/nats/harness';

describe('nats patcher: a connect that completes after ECIRCUITTIMEOUT', function () {
  this.timeout(20_000);
  let h: NatsHarness;
  let proxy: TcpFaultProxy;

  before(requireService('nats', () => natsAvailable()));
  before(async () => {
    proxy = await startTcpFaultProxy({ targetPort: 4222 });
    h = instrumentNats(`
circuit_breakers:
  nats:
    failure_threshold: 10
    call_timeout: 300ms
    operations: [connect]
`);
  });
  after(async () => {
    h?.instrumentation.disable();
    await proxy?.close();
  });

  it('closes the late connection: no socket is left open', async () => {
    await proxy.setMode('blackhole');
    const err = await h.nats.connect({ servers: `${proxy.host}:${proxy.port}`, timeout: 10_000, reconnect: false }).then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).to.equal('ECIRCUITTIMEOUT');
    expect(proxy.activeConnections).to.equal(1);
    // The stall heals: the handshake completes late, and the connection must then be closed.
    await proxy.setMode('pass');
    await eventually('the late connection to be closed', 10_000, async () => (proxy.activeConnections === 0 ? true : undefined));
  });
});

import { expect } from 'chai';
import { detectResources, hostDetector } from '@opentelemetry/resources';
import { resourceFromEnv } from '../../../src/telemetry/resource';

describe("the preload's resource: host attributes", () => {
  it("has the host attributes of OpenTelemetry's host detector, host.id once an exporter waits for it", async () => {
    const ours = resourceFromEnv({ OTEL_NODE_RESOURCE_DETECTORS: 'host' }, () => undefined);
    const library = detectResources({ detectors: [hostDetector] });
    await Promise.all([ours.waitForAsyncAttributes?.(), library.waitForAsyncAttributes?.()]);
    const host = (attrs: Record<string, unknown>) => ({ name: attrs['host.name'], arch: attrs['host.arch'], id: attrs['host.id'] });
    expect(host(ours.attributes)).to.deep.equal(host(library.attributes));
    expect(ours.attributes['host.name']).to.be.a('string');
  });

  it('serves host.name and host.arch without waiting, as before', () => {
    const ours = resourceFromEnv({}, () => undefined);
    expect(ours.getRawAttributes().filter(([k, v]) => (k === 'host.name' || k === 'host.arch') && typeof v === 'string')).to.have.length(2);
  });
});

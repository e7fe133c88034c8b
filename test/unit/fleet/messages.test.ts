import { expect } from 'chai';
import { decodeAdmin, decodeReport, encodeAdmin, encodeReport } from '../../../src/fleet/messages';

const encoder = new TextEncoder();
const shared = new Set(['database']);

describe('fleet messages: operator commands', () => {
  it('carry a fleet-wide open or close of a shared breaker from one member to the others', () => {
    const sent = { id: 'web-1', breaker: 'database', action: 'open' } as const;
    expect(decodeAdmin(encodeAdmin(sent), shared)).to.deep.equal(sent);
    expect(decodeAdmin(encodeAdmin({ ...sent, action: 'close' }), shared)).to.deep.equal({ ...sent, action: 'close' });
  });

  it('are dropped when they name a breaker this member does not share, or another action, or are not ours', () => {
    const raw = (body: unknown) => encoder.encode(JSON.stringify(body));
    expect(decodeAdmin(raw({ v: 1, id: 'web-1', breaker: 'cache', action: 'open' }), shared), 'unshared breaker').to.equal(null);
    expect(decodeAdmin(raw({ v: 1, id: 'web-1', breaker: 'database', action: 'disable' }), shared), 'other action').to.equal(null);
    expect(decodeAdmin(raw({ v: 2, id: 'web-1', breaker: 'database', action: 'open' }), shared), 'other version').to.equal(null);
    expect(decodeAdmin(raw({ v: 1, breaker: 'database', action: 'open' }), shared), 'no sender').to.equal(null);
    expect(decodeAdmin(encoder.encode('not json'), shared), 'not JSON').to.equal(null);
  });
});

describe('fleet messages: reports', () => {
  it('carry the breakers a member closed on a trial of its own, keeping only shared names it does not hold open', () => {
    const sent = { id: 'web-1', holds: { database: 'own' as const }, probes: {}, recovered: ['cache', 'database', 'other'] };
    expect(decodeReport(encodeReport(sent), new Set(['database', 'cache']))?.recovered).to.deep.equal(['cache']);
    const older = encoder.encode(JSON.stringify({ v: 1, id: 'web-2', holds: {}, probes: {} }));
    expect(decodeReport(older, shared)?.recovered, 'a member without the field recovered nothing').to.deep.equal([]);
  });
});

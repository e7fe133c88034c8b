import { expect } from 'chai';
import { decodeAdmin, encodeAdmin } from '../../../src/fleet/messages';

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

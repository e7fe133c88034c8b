import { expect } from 'chai';
import { FleetView } from '../../../src/fleet/view';

const HB = 1000;
const count = (n: number) => ({ count: n, percent: null });

describe('fleet view', () => {
  it('counts itself and every member it has heard from', () => {
    const v = new FleetView('a', HB, count(2));
    expect(v.memberCount).to.equal(1);
    v.heard({ id: 'b', holds: {} }, 0);
    v.heard({ id: 'c', holds: {} }, 0);
    v.heard({ id: 'b', holds: {} }, 10);
    expect(v.memberIds().sort()).to.deep.equal(['a', 'b', 'c']);
  });

  it('ignores its own messages echoed back by NATS', () => {
    const v = new FleetView('a', HB, count(2));
    v.heard({ id: 'a', holds: { database: 'own' } }, 0);
    expect(v.memberCount).to.equal(1);
    expect(v.ownOpenCount('database')).to.equal(0);
  });

  it('keeps a member through 3 heartbeats of silence and drops it after', () => {
    const v = new FleetView('a', HB, count(2));
    v.heard({ id: 'b', holds: { database: 'own' } }, 0);
    expect(v.expire(3 * HB)).to.deep.equal([]);
    expect(v.memberCount).to.equal(2);
    expect(v.expire(3 * HB + 1)).to.deep.equal(['b']);
    expect(v.memberCount).to.equal(1);
    expect(v.ownOpenCount('database')).to.equal(0);
  });

  it('a heartbeat resets the silence count', () => {
    const v = new FleetView('a', HB, count(2));
    v.heard({ id: 'b', holds: {} }, 0);
    v.heard({ id: 'b', holds: {} }, 2 * HB);
    expect(v.expire(4 * HB)).to.deep.equal([]);
  });

  it('a member that says goodbye leaves at once', () => {
    const v = new FleetView('a', HB, count(2));
    v.heard({ id: 'b', holds: { database: 'own' } }, 0);
    v.left('b');
    expect(v.memberCount).to.equal(1);
  });

  it('reaches quorum only with enough members holding the breaker open on their own evidence', () => {
    const v = new FleetView('a', HB, count(2));
    v.heard({ id: 'b', holds: { database: 'own' } }, 0);
    expect(v.quorumReached('database')).to.equal(false);
    v.heard({ id: 'c', holds: { database: 'fleet' } }, 0);
    expect(v.quorumReached('database'), 'fleet-opened members never count').to.equal(false);
    v.heard({ id: 'd', holds: { database: 'own', websocket: 'own' } }, 0);
    expect(v.quorumReached('database')).to.equal(true);
    expect(v.quorumReached('websocket')).to.equal(false);
  });

  it("counts this member's own evidence too", () => {
    const v = new FleetView('a', HB, count(2));
    v.setOwn({ database: 'own' });
    v.heard({ id: 'b', holds: { database: 'own' } }, 0);
    expect(v.ownOpenCount('database')).to.equal(2);
    expect(v.quorumReached('database')).to.equal(true);
    v.setOwn({ database: 'fleet' });
    expect(v.quorumReached('database')).to.equal(false);
  });

  it('a percentage quorum follows the membership and never drops below 2', () => {
    const v = new FleetView('a', HB, { count: null, percent: 50 });
    expect(v.quorumSize).to.equal(2);
    v.heard({ id: 'b', holds: { database: 'own' } }, 0);
    expect(v.quorumReached('database'), 'one of two members is alone').to.equal(false);
    for (const id of ['c', 'd', 'e', 'f']) v.heard({ id, holds: {} }, 0);
    expect(v.quorumSize).to.equal(3);
    v.heard({ id: 'c', holds: { database: 'own' } }, 0);
    expect(v.quorumReached('database')).to.equal(false);
    v.heard({ id: 'd', holds: { database: 'own' } }, 0);
    expect(v.quorumReached('database')).to.equal(true);
  });

  it('loses quorum when the members holding it open leave', () => {
    const v = new FleetView('a', HB, count(2));
    v.heard({ id: 'b', holds: { database: 'own' } }, 0);
    v.heard({ id: 'c', holds: { database: 'own' } }, 2 * HB);
    expect(v.quorumReached('database')).to.equal(true);
    v.expire(3 * HB + 1);
    expect(v.quorumReached('database')).to.equal(false);
  });
});

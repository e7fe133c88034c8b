import { expect } from 'chai';
import { chooseProber } from '../../../src/fleet/prober';

describe('fleet prober choice', () => {
  const members = ['host-1', 'host-2', 'host-3', 'host-4'];

  it('every member, whatever order it lists the candidates in, picks the same one', () => {
    const a = chooseProber('database', members.map((id) => ({ id, failed: 0 })));
    const b = chooseProber('database', [...members].reverse().map((id) => ({ id, failed: 0 })));
    expect(a).to.be.oneOf(members);
    expect(b).to.equal(a);
  });

  it('hands the trial to a member that failed fewer trials', () => {
    const first = chooseProber('database', members.map((id) => ({ id, failed: 0 })))!;
    const next = chooseProber('database', members.map((id) => ({ id, failed: id === first ? 1 : 0 })));
    expect(next).to.be.a('string').and.not.equal(first);
  });

  it('spreads different breakers over different members', () => {
    const chosen = new Set(['database', 'websocket', 'file_system', 'auth', 'billing', 'search'].map((b) => chooseProber(b, members.map((id) => ({ id, failed: 0 })))));
    expect(chosen.size).to.be.greaterThan(1);
  });

  it('has nobody to choose from an empty view', () => {
    expect(chooseProber('database', [])).to.equal(null);
  });
});

import { expect } from 'chai';
import { chooseProber, HANDOFF_AFTER } from '../../../src/fleet/prober';

describe('fleet prober choice', () => {
  const members = ['host-1', 'host-2', 'host-3', 'host-4'];

  it('every member, whatever order it lists the candidates in, picks the same one', () => {
    const a = chooseProber(
      'database',
      members.map((id) => ({ id, failed: 0 })),
    );
    const b = chooseProber(
      'database',
      [...members].reverse().map((id) => ({ id, failed: 0 })),
    );
    expect(a).to.be.oneOf(members);
    expect(b).to.equal(a);
  });

  it('hands the trial to a member that failed fewer trials', () => {
    const first = chooseProber(
      'database',
      members.map((id) => ({ id, failed: 0 })),
    )!;
    const next = chooseProber(
      'database',
      members.map((id) => ({ id, failed: id === first ? 1 : 0 })),
    );
    expect(next).to.be.a('string').and.not.equal(first);
  });

  it('spreads different breakers over different members', () => {
    const chosen = new Set(
      ['database', 'websocket', 'file_system', 'auth', 'billing', 'search'].map((b) =>
        chooseProber(
          b,
          members.map((id) => ({ id, failed: 0 })),
        ),
      ),
    );
    expect(chosen.size).to.be.greaterThan(1);
  });

  it('has nobody to choose from an empty view', () => {
    expect(chooseProber('database', [])).to.equal(null);
  });

  it('prefers a member with traffic, and members with traffic take turns after failed trials', () => {
    const calls = (id: string) => (id === 'host-3' || id === 'host-4' ? 50 : 1);
    const first = chooseProber(
      'database',
      members.map((id) => ({ id, failed: 0, calls: calls(id) })),
    )!;
    expect(first).to.be.oneOf(['host-3', 'host-4']);
    const second = chooseProber(
      'database',
      members.map((id) => ({ id, failed: id === first ? 1 : 0, calls: calls(id) })),
    );
    expect(second).to.be.oneOf(['host-3', 'host-4']).and.not.equal(first);
  });

  it('hands the trial to idle members once the busy ones failed HANDOFF_AFTER trials each (a busy member with a broken path of its own)', () => {
    const busy = ['host-3', 'host-4'];
    const next = chooseProber(
      'database',
      members.map((id) => ({ id, failed: busy.includes(id) ? HANDOFF_AFTER : 0, calls: busy.includes(id) ? 50 : 0 })),
    );
    expect(next).to.be.oneOf(['host-1', 'host-2']);
  });
});

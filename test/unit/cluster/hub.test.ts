import { expect } from 'chai';
import { BreakerHub } from '../../../src/cluster/hub';
import { joinHub } from '../../../src/cluster/member';
import { HUB_ENV, parseHubAddress } from '../../../src/cluster/protocol';
import { BreakerRegistry } from '../../../src/registry';
import { eventually } from '../../helpers/eventually';

describe('cluster hub: members over a local socket', () => {
  let hub: BreakerHub;
  const leaves: (() => void)[] = [];
  let savedEnv: string | undefined;

  beforeEach(() => {
    savedEnv = process.env[HUB_ENV];
    hub = BreakerHub.start();
  });
  afterEach(() => {
    for (const leave of leaves.splice(0)) leave();
    hub.close();
    if (savedEnv === undefined) delete process.env[HUB_ENV];
    else process.env[HUB_ENV] = savedEnv;
  });

  async function member(name: string): Promise<BreakerRegistry> {
    const registry = new BreakerRegistry();
    await registry.get(name).execute(async () => 1);
    const before = hub.size;
    leaves.push(joinHub(registry, parseHubAddress(process.env[HUB_ENV])!));
    await eventually('the member to join', 5_000, async () => (hub.size > before ? true : undefined));
    return registry;
  }

  it("numbers members 1, 2... and gives a leaving member's number to the next one, so the worker label stays bounded", async () => {
    await member('a');
    await member('b');
    expect((await hub.collect('all')).map((m) => [m.worker, m.answer.series.map((s) => s.breaker)])).to.deep.equal([
      ['1', ['a']],
      ['2', ['b']],
    ]);
    leaves.shift()!();
    await eventually('the member to leave', 5_000, async () => (hub.size === 1 ? true : undefined));
    await member('c');
    expect((await hub.collect('all')).map((m) => [m.worker, m.answer.series[0].breaker])).to.deep.equal([
      ['1', 'c'],
      ['2', 'b'],
    ]);
  });

  it('carries admin actions to the members that hold the breaker', async () => {
    const one = await member('auth');
    await member('other');
    const answers = await hub.admin('auth', 'open');
    expect(answers.map((a) => [a.worker, a.answer.found, a.answer.state])).to.deep.equal([
      ['1', true, 'forced_open'],
      ['2', false, undefined],
    ]);
    expect(one.get('auth').state).to.equal('forced_open');
  });

  it('leaves a member\'s advisory breakers out of health asked with scope "enforced"', async () => {
    const registry = await member('auth');
    registry.get('shadow', { mode: 'metrics_only' });
    const names = async (scope: 'all' | 'enforced'): Promise<string[]> => (await hub.collect(scope))[0].answer.health.map((h) => h.name);
    expect(await names('all')).to.deep.equal(['auth', 'shadow']);
    expect(await names('enforced')).to.deep.equal(['auth']);
  });

  it('ignores a connection that does not present the token', async () => {
    const registry = new BreakerRegistry();
    await registry.get('x').execute(async () => 1);
    const forged = parseHubAddress(process.env[HUB_ENV])!;
    leaves.push(joinHub(registry, { ...forged, token: '0'.repeat(32) }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(hub.size).to.equal(0);
  });
});

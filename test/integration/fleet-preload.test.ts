/**
 * Fleet mode from `--require breakerbox/register`: an idle instance opens through the fleet
 * without failing a call, and fleet mode keeps nothing alive (the app still ends on its own).
 * The other members run in the test process, each with its own registry and connection.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { connect as natsConnect } from 'nats';
import { parseConfig } from '../../src/config';
import { startFleetMember, type FleetMember } from '../../src/fleet/member';
import { BreakerRegistry } from '../../src/registry';
import { spawnNode } from '../helpers/child-process';
import { requireNatsServer, startPrivateNats, type PrivateNats } from '../helpers/private-nats';
import { eventually } from '../fixtures/nats/harness';

const REPO = path.resolve(__dirname, '..', '..');
const REGISTER_CJS = path.join(REPO, 'dist', 'register.js');
const APP = path.join(REPO, 'test', 'fixtures', 'apps', 'fleet-idle.js');

function yaml(url: string): string {
  return `
circuit_breakers:
  database:
    failure_threshold: 1
    timeout: 30
  monitoring:
    enabled: false
  fleet:
    enabled: true
    url: ${url}
    name: preload
    heartbeat: 200ms
`;
}

describe('fleet mode under the preload', function () {
  let srv: PrivateNats;
  let dir: string;
  const members: FleetMember[] = [];

  before(async function () {
    requireNatsServer(this);
    srv = await startPrivateNats();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'breakerbox-fleet-'));
  });
  after(async () => {
    await Promise.all(members.map((m) => m.stop()));
    await srv?.cleanup();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an idle instance opens with reason fleet when 2 others opened on their own, and then exits on its own', async () => {
    const file = path.join(dir, 'breakerbox.yaml');
    fs.writeFileSync(file, yaml(srv.url));
    const app = spawnNode(['--require', REGISTER_CJS, APP], {
      env: { BREAKERBOX_CONFIG: file, NODE_OPTIONS: undefined },
      timeoutMs: 20_000,
    });
    await app.waitForLine('ready');

    const busy = ['a', 'b'].map((id) => {
      const config = parseConfig(yaml(srv.url), 'test.yaml');
      const registry = new BreakerRegistry(config);
      const member = startFleetMember({ config: config.fleet, registry, connect: natsConnect, selfId: id });
      members.push(member);
      return { registry, member };
    });
    await eventually('the busy members to see the idle one', () => busy.every((m) => m.member.coordinator.view.memberCount === 3));
    for (const m of busy) {
      const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      await m.registry
        .get('database')
        .execute(() => Promise.reject(refused))
        .catch(() => undefined);
    }

    const line = await app.waitForLine(/"state"/);
    expect(JSON.parse(line)).to.deep.equal({ state: 'open', reason: 'fleet' });
    const result = await app.exited;
    expect(result.timedOut, `the app did not end on its own:\n${result.stderr}`).to.equal(false);
    expect(result.code).to.equal(0);
  });
});

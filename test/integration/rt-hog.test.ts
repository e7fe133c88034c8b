/**
 * The real-time CPU hog of `npm run bench:overload` (scripts/lib/rt-hog.ts): it runs where and
 * how it says, and it never outlives the harness that started it, however that harness ends.
 * A hog left behind would hold a CPU at real-time priority. These hogs are gentle (busy 1 ms
 * of every 20 ms) so the tests cost the machine nothing.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { procStats } from '../../scripts/lib/proc-stat';
import { canRunRtHog, startRtHog } from '../../scripts/lib/rt-hog';
import { spawnNode } from '../helpers/child-process';
import { eventually } from '../helpers/eventually';
import { requireService } from '../helpers/require-services';

const REPO = path.join(__dirname, '..', '..');
const STARTER = path.join(REPO, 'test', 'fixtures', 'bench', 'hog-starter.ts');

/** Processes of process group `pgid` that are alive (not zombies). */
function liveMembers(pgid: number): { pid: number; comm: string }[] {
  return procStats()
    .filter((p) => p.pgrp === pgid && p.state !== 'Z' && p.state !== 'X')
    .map(({ pid, comm }) => ({ pid, comm }));
}

async function gone(pgid: number, withinMs: number): Promise<void> {
  await eventually(`hog group ${pgid} to be gone`, withinMs, async () => (liveMembers(pgid).length === 0 ? true : undefined), {
    everyMs: 50,
    context: () => JSON.stringify(liveMembers(pgid)),
  });
}

async function startHarness(how: string, env: Record<string, string> = {}): Promise<{ pgid: number; exited: Promise<unknown> }> {
  const child = spawnNode(['-r', 'tsx/cjs', STARTER, how], { cwd: REPO, env, timeoutMs: 60_000 });
  const line = await child.waitForLine(/^hog \d+$/, 20_000);
  return { pgid: Number(line.split(' ')[1]), exited: child.exited.then(() => child.kill('SIGKILL')) };
}

describe('rt-hog: the real-time CPU hog of the overload benchmark', function () {
  this.timeout(60_000);
  before(
    requireService('chrt -f, taskset and timeout (root or CAP_SYS_NICE)', async () => {
      if (!canRunRtHog()) throw new Error('timeout chrt -f 10 taskset -c 0 true failed');
    }),
  );

  it('runs at SCHED_FIFO priority 10 on the CPU it was given, and stop() ends it', async () => {
    const hog = await startRtHog({ cpu: 0, busyMs: 1, periodMs: 20, maxSeconds: 30 });
    try {
      const node = liveMembers(hog.pid).find((m) => m.comm === 'node');
      expect(node, JSON.stringify(liveMembers(hog.pid))).to.not.equal(undefined);
      const policy = spawnSync('chrt', ['-p', String(node!.pid)], { encoding: 'utf8' }).stdout;
      expect(policy).to.match(/SCHED_FIFO/);
      expect(policy).to.match(/priority: 10/);
      const affinity = spawnSync('taskset', ['-c', '-p', String(node!.pid)], { encoding: 'utf8' }).stdout;
      expect(affinity.trim()).to.match(/: 0$/);
    } finally {
      await hog.stop();
    }
    expect(liveMembers(hog.pid)).to.deep.equal([]);
  });

  for (const how of ['exit', 'throw', 'sigint']) {
    it(`is gone when the harness ends by ${how}`, async () => {
      const { pgid, exited } = await startHarness(how);
      await exited;
      await gone(pgid, 2_000);
    });
  }

  it('is gone within its time limit when the harness is killed with SIGKILL (no hook can run)', async () => {
    const child = spawnNode(['-r', 'tsx/cjs', STARTER, 'hang'], { cwd: REPO, env: { HOG_MAX_SECONDS: '2' }, timeoutMs: 60_000 });
    const line = await child.waitForLine(/^hog \d+$/, 20_000);
    const pgid = Number(line.split(' ')[1]);
    await child.kill('SIGKILL');
    await sleep(200);
    // Still there: only its own limit can end it now.
    expect(liveMembers(pgid)).to.not.deep.equal([]);
    await gone(pgid, 5_000);
  });
});

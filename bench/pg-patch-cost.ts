/**
 * The pg patch's own cost per query, apart from everything else the preload brings: one
 * process, pg talking to an in-process stub backend (no network, no server), the
 * instrumentation enabled and disabled in alternating short blocks on the same client. Wall
 * and CPU time per query are taken per block, and the patched-minus-bare difference per
 * adjacent pair of blocks, so drift on a shared machine cancels within a pair.
 */
import { spawnSync } from 'node:child_process';
import { parseConfig } from '../src/config';
import { BreakerboxInstrumentation } from '../src/instrumentation/instrumentation';
import { BreakerRegistry } from '../src/registry';
import { StubBackend } from './pg-stub';
import { spread, type Spread } from './stats';

export interface PgPatchCost {
  /** Median ns per query of the unpatched client (wall). */
  bareNs: number;
  /** Patched minus bare, ns per query, per pair of blocks. */
  wallNs: Spread;
  cpuNs: Spread;
}

interface Pg {
  Client: new (config: object) => { connect(): Promise<void>; query(text: string): Promise<unknown>; end(): Promise<void> };
}

async function measureInProcess(pairs: number, perBlock: number): Promise<PgPatchCost> {
  const config = parseConfig('circuit_breakers:\n  database:\n    failure_threshold: 3\n', 'bench.yaml');
  const instrumentation = new BreakerboxInstrumentation({ breakerbox: config, registry: new BreakerRegistry(config) });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('pg') as Pg;
  const patched = pg.Client.prototype.query;
  instrumentation.disable();
  if (pg.Client.prototype.query === patched) throw new Error('pg was not patched: it was loaded before the instrumentation');
  const client = new pg.Client({ stream: () => new StubBackend() });
  await client.connect();
  const block = async (patched: boolean): Promise<[number, number]> => {
    if (patched) instrumentation.enable();
    else instrumentation.disable();
    const cpu = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBlock; i++) await client.query('SELECT 1');
    const wall = Number(process.hrtime.bigint() - t0) / perBlock;
    const used = process.cpuUsage(cpu);
    return [wall, ((used.user + used.system) * 1000) / perBlock];
  };
  for (let i = 0; i < 5; i++) await block(i % 2 === 0); // warm-up: lets the JIT settle both ways
  const bare: number[] = [];
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const first = i % 2 === 0;
    const a = await block(first);
    const b = await block(!first);
    const [p, q] = first ? [a, b] : [b, a];
    bare.push(q[0]);
    wall.push(p[0] - q[0]);
    cpu.push(p[1] - q[1]);
  }
  instrumentation.disable();
  await client.end();
  return { bareNs: spread(bare).median, wallNs: spread(wall), cpuNs: spread(cpu) };
}

/** Runs in a child process of its own, so pg is loaded after the instrumentation hooks it. */
export function pgPatchCost(pairs = 60, perBlock = 2000): PgPatchCost {
  const out = spawnSync(process.execPath, [__filename], {
    env: { ...process.env, BENCH_PAIRS: String(pairs), BENCH_BLOCK: String(perBlock) },
    encoding: 'utf8',
  });
  if (out.status !== 0) throw new Error(`pg patch cost run failed: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').pop() as string) as PgPatchCost;
}

if (require.main === module) {
  measureInProcess(Number(process.env.BENCH_PAIRS ?? 60), Number(process.env.BENCH_BLOCK ?? 2000)).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

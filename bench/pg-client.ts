/**
 * One throughput run for `bench/pg-throughput.ts`: sequential `SELECT 1` on one client for
 * BENCH_PG_SECONDS, with its Postgres backend pinned to core 0 (this process is started
 * pinned to core 1), printing `{"qps": n}`.
 */
import { execFileSync } from 'node:child_process';
import { Client } from 'pg';

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_PG_SECONDS ?? 2);
  const client = new Client({ host: '127.0.0.1', port: 5432, database: 'test', user: process.env.PGUSER ?? 'postgres' });
  await client.connect();
  const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
  try {
    execFileSync('taskset', ['-pc', '0', String(rows[0].pid)], { stdio: 'ignore' });
  } catch {
    // Not pinned: the numbers get noisier, not wrong.
  }
  for (let i = 0; i < 2000; i++) await client.query('SELECT 1');
  let n = 0;
  const cpu = process.cpuUsage();
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 100; i++) await client.query('SELECT 1');
    n += 100;
  }
  await client.end();
  const used = process.cpuUsage(cpu);
  process.stdout.write(JSON.stringify({ qps: n / seconds, cpuUsPerQuery: (used.user + used.system) / n }) + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

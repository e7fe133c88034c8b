/**
 * One run for the pg environment bench: sequential `SELECT 1` against the in-process stub
 * backend for BENCH_SECONDS, printing `{"wallNs": n, "cpuNs": n}` per query. Run bare and
 * under the preload, it shows what the loaded environment costs per query with no network
 * or server in the way.
 */
import { Client } from 'pg';
import { StubBackend } from './pg-stub';

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 1);
  const client = new Client({ stream: () => new StubBackend() } as ConstructorParameters<typeof Client>[0]);
  await client.connect();
  for (let i = 0; i < 5000; i++) await client.query('SELECT 1');
  let n = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < 200; i++) await client.query('SELECT 1');
    n += 200;
  }
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  await client.end();
  process.stdout.write(`${JSON.stringify({ wallNs: (wallMs * 1e6) / n, cpuNs: ((used.user + used.system) * 1000) / n })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

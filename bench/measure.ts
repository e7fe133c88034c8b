/** Interleaved timing: every candidate runs once per round, so drift hits all of them alike. */
export interface Candidate {
  name: string;
  /** Runs the operation `n` times; resolves when done. */
  run(n: number): Promise<void>;
}

export async function measure(candidates: Candidate[], rounds: number, perRound: number): Promise<Map<string, number>> {
  const samples = new Map<string, number[]>(candidates.map((c) => [c.name, []]));
  for (const c of candidates) await c.run(Math.min(perRound, 20_000)); // warm-up, lets the JIT settle
  for (let r = 0; r < rounds; r++) {
    for (const c of candidates) {
      const t0 = process.hrtime.bigint();
      await c.run(perRound);
      const ns = Number(process.hrtime.bigint() - t0) / perRound;
      samples.get(c.name)!.push(ns);
    }
  }
  const medians = new Map<string, number>();
  for (const [name, list] of samples) {
    list.sort((a, b) => a - b);
    medians.set(name, list[Math.floor(list.length / 2)]);
  }
  return medians;
}

/** Retained heap per object, measured by building `count` of them between forced GCs. */
export function heapPerObject(count: number, make: () => unknown): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the benchmark with node --expose-gc');
  const keep: unknown[] = new Array(count);
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) keep[i] = make();
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  if (keep.length !== count) throw new Error('unreachable');
  return (after - before) / count;
}

export function formatNs(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(1)} ns`;
}

import { expect } from 'chai';
import * as path from 'node:path';
import { runNode } from '../helpers/child-process';

const PROBE = path.join(__dirname, 'limit-heap-probe.ts');

interface ProbeResult {
  name: string;
  samples: number;
  allocatedBytes: number;
  heapGrowthBytes: number;
}

// A child with --expose-gc per algorithm, so one algorithm's optimised code cannot shape another's.
async function probe(algorithm: string): Promise<ProbeResult> {
  const r = await runNode(['--expose-gc', '--import', 'tsx', PROBE, algorithm], { timeoutMs: 55_000 });
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as ProbeResult;
}

describe('adaptive limit algorithms allocate nothing per sample', function () {
  this.timeout(60_000);

  for (const algorithm of ['gradient2', 'vegas', 'aimd']) {
    it(`${algorithm}: a million samples allocate next to nothing and leave the heap where it was`, async () => {
      const x = await probe(algorithm);
      expect(x.samples).to.equal(1_000_000);
      // One boxed number per sample would be 12+ MB, one per adjustment round over 1 MB.
      expect(x.allocatedBytes, 'bytes allocated during 1e6 samples').to.be.below(256 * 1024);
      expect(x.heapGrowthBytes, 'heap growth over 1e6 samples, after a full GC').to.be.below(512 * 1024);
    });
  }
});

import { expect } from 'chai';
import type { LogLevel } from '../../../src/config';
import { BreakerRegistry } from '../../../src/registry';
import { startTelemetry } from '../../../src/telemetry';
import { boom, FakeClock } from '../core/fake-clock';

/** Opens, probes and recloses one breaker; returns what was written to the log, as written. */
async function outageLog(logLevel: LogLevel): Promise<string[]> {
  const written: string[] = [];
  const registry = new BreakerRegistry();
  startTelemetry({ registry, logLevel, writeLog: (line) => written.push(line) });
  const clock = new FakeClock();
  const b = registry.get('auth', { failureThreshold: 1, resetTimeoutMs: 1_000, now: clock.now });
  await b.execute(() => Promise.reject(boom())).catch(() => undefined);
  clock.advance(1_000);
  await b.execute(async () => 'ok');
  b.forceOpen();
  return written;
}

describe('telemetry: transition log lines', () => {
  it('writes one JSON line per transition, with breaker, from, to and reason', async () => {
    const written = await outageLog('info');
    expect(written).to.have.length(4);
    for (const chunk of written) {
      expect(chunk.endsWith('\n')).to.equal(true);
      expect(chunk.slice(0, -1)).to.not.include('\n');
    }
    const lines = written.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.level, l.from, l.to, l.reason])).to.deep.equal([
      ['warn', 'closed', 'open', 'failure_threshold'],
      ['info', 'open', 'half_open', 'reset_timeout'],
      ['info', 'half_open', 'closed', 'trial_succeeded'],
      ['warn', 'closed', 'forced_open', 'forced_open'],
    ]);
    for (const l of lines) {
      expect(l).to.include({ logger: 'breakerbox', breaker: 'auth' });
      expect(l.msg).to.match(/^circuit breaker auth \w+ -> \w+$/);
      expect(new Date(l.time as string).toISOString()).to.equal(l.time);
    }
    expect(lines[0]).to.include({ consecutive_failures: 1 });
    expect(lines[2]).to.include({ recovery_seconds: 1 });
  });

  it('logs the same transitions at debug as at info', async () => {
    expect((await outageLog('debug')).length).to.equal(4);
  });

  it('logs only openings at warn, and nothing at error (no transition is an error)', async () => {
    const warn = (await outageLog('warn')).map((l) => JSON.parse(l) as { to: string });
    expect(warn.map((l) => l.to)).to.deep.equal(['open', 'forced_open']);
    expect(await outageLog('error')).to.deep.equal([]);
  });

  it('logs nothing at silent', async () => {
    expect(await outageLog('silent')).to.deep.equal([]);
  });
});

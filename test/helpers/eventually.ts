import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** Pause between two probes. Default 250 ms. */
  everyMs?: number;
  /** More to say when it times out (e.g. the child's recent output). */
  context?: () => string;
}

/**
 * Polls `probe` until it returns something other than undefined, and resolves with that.
 * A probe that throws counts as "not yet"; its message is in the timeout error.
 */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  opts: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      const more = opts.context?.() ?? '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last error: ${last})${more === '' ? '' : `\n${more}`}`);
    }
    await sleep(opts.everyMs ?? 250);
  }
}

/**
 * One adjustment round: the calls that finished since the limit was last adjusted. A round
 * closes with the first sample of a call that started after that adjustment, so a limit
 * moves at most once per round trip. Without this, the calls admitted under the old limit
 * (all of them slow, since they made the queue) would each cut the limit again as they
 * drain, and it would collapse far below what the dependency can take.
 * Plain fields, each given a value where declared, so V8 keeps them unboxed: no allocation.
 */
export class AdjustmentRound {
  /** When the limit was last adjusted (the round began); -Infinity before the first sample. */
  private startedAt = -Infinity;
  /** When the limit was last lowered. */
  private loweredAt = -Infinity;
  /** The most calls in flight any call of the round saw: whether the app used the limit. */
  maxInflight = 0;
  /**
   * A call that started after the limit was last lowered was dropped. Drops of calls that
   * started before it were answered by that cut already (TCP's rule: one cut per loss episode),
   * so a burst of timeouts lowers the limit once, not once per timeout.
   */
  dropped = false;

  /** Counts one finished call; true when it closes the round. */
  add(now: number, rttMs: number, inflight: number, dropped: boolean): boolean {
    const startedAt = now - rttMs;
    if (inflight > this.maxInflight) this.maxInflight = inflight;
    if (dropped && startedAt >= this.loweredAt) this.dropped = true;
    return startedAt >= this.startedAt;
  }

  /** The limit was adjusted at `now` (`lowered`: made smaller); later samples belong to the next round. */
  restart(now: number, lowered: boolean): void {
    this.startedAt = now;
    if (lowered) this.loweredAt = now;
    this.maxInflight = 0;
    this.dropped = false;
  }
}

/**
 * The samples of one adjustment round: the calls that finished since the limit was last
 * adjusted. A round closes with the first sample of a call that started after that
 * adjustment, so a limit moves at most once per round trip. Without this, the calls admitted
 * under the old limit (all of them slow, since they caused the queue) would each cut the limit
 * again as they drain, and it would collapse far below what the dependency can take.
 * Plain fields, no allocation: one instance lives as long as its algorithm.
 */
export class AdjustmentRound {
  /** When the limit was last adjusted (the round began); -Infinity before the first sample. */
  private startedAt = -Infinity;
  samples = 0;
  rttSum = 0;
  minRtt = Infinity;
  maxInflight = 0;
  dropped = false;

  /** Counts one finished call; true when it closes the round. */
  add(now: number, rttMs: number, inflight: number, dropped: boolean): boolean {
    this.samples++;
    this.rttSum += rttMs;
    if (rttMs < this.minRtt) this.minRtt = rttMs;
    if (inflight > this.maxInflight) this.maxInflight = inflight;
    if (dropped) this.dropped = true;
    return now - rttMs >= this.startedAt;
  }

  get meanRtt(): number {
    return this.rttSum / this.samples;
  }

  /** The limit was adjusted at `now`: later samples belong to the next round. */
  restart(now: number): void {
    this.startedAt = now;
    this.samples = 0;
    this.rttSum = 0;
    this.minRtt = Infinity;
    this.maxInflight = 0;
    this.dropped = false;
  }
}

/**
 * Calls a breaker saw over the last few heartbeats, refused ones included, so the fleet can
 * hand its trial to a member that has users to trial with (prober.ts). Counted per heartbeat
 * slot: a beat rotates the window, a call only adds one.
 */
export const TRAFFIC_BEATS = 5;

export class TrafficWindow {
  private readonly slots = new Array<number>(TRAFFIC_BEATS - 1).fill(0);
  private next = 0;
  private current = 0;

  /** One call (a refusal, a failure or a trial). */
  add(): void {
    this.current++;
  }

  /** A heartbeat: the current slot is kept, the oldest forgotten. */
  rotate(): void {
    this.slots[this.next] = this.current;
    this.next = (this.next + 1) % this.slots.length;
    this.current = 0;
  }

  /** Calls in the current slot and the TRAFFIC_BEATS - 1 before it. */
  get calls(): number {
    let n = this.current;
    for (const s of this.slots) n += s;
    return n;
  }
}

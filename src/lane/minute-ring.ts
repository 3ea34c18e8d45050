/**
 * The last minute of something a worker counts, as a ring of 12 slots of 5 s: a slot is reused (reset) when the
 * clock comes round to it again, so memory stays fixed whatever the task rate. Shared by the SLO attainment window
 * (slo.ts) and the board's task window (task-window.ts).
 */
export const MINUTE_MS = 60_000;
const SLOTS = 12;
const SLOT_MS = MINUTE_MS / SLOTS;

export class MinuteRing<S> {
  /** Each slot's value and the slot number (time / SLOT_MS) it holds; an older number is stale. */
  private readonly slots: { n: number; value: S }[];

  constructor(private readonly fresh: () => S) {
    this.slots = Array.from({ length: SLOTS }, () => ({ n: -1, value: fresh() }));
  }

  /** The value of the current slot, fresh if the slot last held an older round (its counts have left the minute). */
  current(now = Date.now()): S {
    const n = Math.floor(now / SLOT_MS);
    const slot = this.slots[n % SLOTS]!;
    if (slot.n !== n) {
      slot.n = n;
      slot.value = this.fresh();
    }
    return slot.value;
  }

  /** The values of the slots within the last minute, the current one included. */
  live(now = Date.now()): S[] {
    const n = Math.floor(now / SLOT_MS);
    return this.slots.filter((s) => s.n > n - SLOTS).map((s) => s.value);
  }
}

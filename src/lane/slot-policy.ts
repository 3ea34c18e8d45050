/**
 * The slot policy, as pure functions of the worker's counts: how many entries each lane may read and which lane
 * may start a task. The rule that keeps express tasks from ever waiting behind standard ones lives here:
 *
 * - `expressReserve` slots are never taken by standard tasks (standard capacity = concurrency − reserve), and the
 *   minimum concurrency is at least reserve + 1 (option validation), so there is always a standard slot too;
 * - a lane may read one batch ahead of its free slots only while its handlers are fast; standard entries read
 *   ahead never count against express room (only as many standard entries as standard slots do), so a standard
 *   backlog buffered here can never keep an express entry out; slow standard work is read only into free slots,
 *   leaving entries in the stream for other consumers;
 * - express entries start first, except a standard entry that has waited past its type's `maxWaitMs` (aging, off
 *   unless set): it starts ahead of newer express work, in a standard slot, so standard work has a bounded wait
 *   under any express flood while the reserve stays express's.
 */
import type { Lane } from './keys';

export interface SlotCounts {
  concurrency: number;
  expressReserve: number;
  /** Handlers running, per lane. */
  running: Record<Lane, number>;
  /** Entries read and waiting to start, per lane. */
  buffered: Record<Lane, number>;
  /** Entries asked for by reads still outstanding, per lane. */
  requested: Record<Lane, number>;
  /** Tasks whose handler settled but whose outcome write has not landed. */
  settling: number;
  /** Extra express entries that may be read ahead of free slots (0 for slow handlers). */
  expressReadAhead: number;
  /** Extra standard entries that may be read ahead of free standard slots (0 for slow handlers). */
  standardReadAhead: number;
}

/**
 * Outcome writes in flight, per slot, beyond which reading pauses: enough for a batch's writes to overlap the next
 * batches' reads and runs, but bounded, so a Redis stall cannot pile up unwritten outcomes. With two reads of a
 * fast lane in flight, 3 per slot paused a saturated lane's reads for 0.7-1.3 s of every 3.3 s (counted in the
 * read loops, bench saturation, concurrency 50); with 6, 0.03-0.1 s, event loop busy 0.66-0.73 -> 0.74-0.78.
 */
export const MAX_SETTLING_PER_SLOT = 6;

/** Handlers averaging at most this long count as fast: their lane reads a batch ahead of its free slots. */
export const READ_AHEAD_MAX_RUN_MS = 5;

/**
 * Smallest read-ahead batch of a fast lane. A fast handler holds its slot for microseconds, so what limits such a
 * lane is how many entries one read round trip brings, not the slots: with the default concurrency (2, one of
 * them held by a standard task) a batch of `concurrency` would carry 1-3 entries per round trip and cap an express
 * lane at a few hundred tasks/s on a busy machine.
 */
export const FAST_READ_AHEAD_MIN = 32;

/**
 * Reads a fast lane keeps outstanding at once, each of at most one batch (`readBatch`). With one, every read was
 * sent only once the batch before it had run: Node then waited for Redis to prepare the next batch and Redis
 * for Node to ask, one after the other. With two, Redis prepares the next batch while Node runs the current one.
 * (A fast lane's read loops are otherwise parked only by the settling bound.)
 */
export const FAST_READS_IN_FLIGHT = 2;

/** Extra entries a lane may read ahead of its free slots, from the moving average of its handlers' run time. */
export function readAhead(avgRunMs: number, concurrency: number): number {
  return avgRunMs <= READ_AHEAD_MAX_RUN_MS ? Math.max(concurrency, FAST_READ_AHEAD_MIN) : 0;
}

/**
 * Outcome writes in flight beyond which reading pauses: MAX_SETTLING_PER_SLOT per slot and per entry a fast lane
 * may read ahead. Counting slots only (3 × 2 with the default concurrency) capped a fast express lane at about
 * 6 outcomes per completion round trip, a few hundred tasks/s on a busy machine, whatever the read-ahead.
 */
export function settlingLimit(s: SlotCounts): number {
  return MAX_SETTLING_PER_SLOT * (s.concurrency + Math.max(s.expressReadAhead, s.standardReadAhead));
}

/** Slots standard tasks may use. */
export function standardCapacity(concurrency: number, expressReserve: number): number {
  return Math.max(0, concurrency - expressReserve);
}

/** The smallest concurrency that keeps both the reserve and one standard slot. */
export function minimumConcurrency(expressReserve: number): number {
  return expressReserve + 1;
}

/**
 * Most entries one read of the lane asks for: its slots plus its read-ahead. A fast lane has room for
 * FAST_READS_IN_FLIGHT of these; capping each read at one batch is what lets the second read go out while the
 * first one's entries run, instead of the first read taking all the room.
 */
export function readBatch(s: SlotCounts, lane: Lane): number {
  const ahead = lane === 'express' ? s.expressReadAhead : s.standardReadAhead;
  const slots = lane === 'express' ? s.concurrency : standardCapacity(s.concurrency, s.expressReserve);
  return slots + ahead;
}

/** Room for the further reads a fast lane keeps in flight (0 for a slow lane: it reads into free slots only). */
function furtherReads(s: SlotCounts, lane: Lane): number {
  const ahead = lane === 'express' ? s.expressReadAhead : s.standardReadAhead;
  return ahead > 0 ? (FAST_READS_IN_FLIGHT - 1) * readBatch(s, lane) : 0;
}

/** Entries the lane may read now, net of what it runs, buffers and has asked for. */
export function readRoom(s: SlotCounts, lane: Lane): number {
  if (s.settling >= settlingLimit(s)) return 0;
  const capacity = standardCapacity(s.concurrency, s.expressReserve);
  const standardHeld = s.running.standard + s.buffered.standard;
  if (lane === 'standard')
    return capacity + s.standardReadAhead + furtherReads(s, lane) - standardHeld - s.requested.standard;
  // Standard work never holds more than its capacity, so this is always >= the reserve minus express's own use.
  // A standard read still outstanding is not counted: blocked on an empty standard lane, it must not keep express
  // entries out (with a reserve of 0 it would take every slot); what it returns waits for a standard slot.
  return (
    s.concurrency +
    s.expressReadAhead +
    furtherReads(s, lane) -
    Math.min(standardHeld, capacity) -
    s.running.express -
    s.buffered.express -
    s.requested.express
  );
}

/** Whether a buffered entry of the lane may start now. */
export function canStart(
  s: Pick<SlotCounts, 'concurrency' | 'expressReserve' | 'running'>,
  lane: Lane,
): boolean {
  const running = s.running.express + s.running.standard;
  if (running >= s.concurrency) return false;
  return lane === 'express' || s.running.standard < standardCapacity(s.concurrency, s.expressReserve);
}

/**
 * Whether a standard entry appended at `enqueuedAt` (its stream id's time) has waited past `maxWaitMs` by `now`, so
 * it starts ahead of express work. `maxWaitMs` 0 is aging off.
 */
export function isOverdue(enqueuedAt: number, maxWaitMs: number, now: number): boolean {
  return maxWaitMs > 0 && now - enqueuedAt >= maxWaitMs;
}

/**
 * Which lane's buffered entry starts next, if any: an overdue standard entry (`standardOverdue`) first, then express,
 * then standard. A standard entry, overdue or not, still needs a standard slot: aging never takes the reserve.
 */
export function nextLane(
  s: Pick<SlotCounts, 'concurrency' | 'expressReserve' | 'running'>,
  waiting: { express: boolean; standard: boolean; standardOverdue: boolean },
): Lane | undefined {
  if (waiting.standardOverdue && canStart(s, 'standard')) return 'standard';
  if (waiting.express && canStart(s, 'express')) return 'express';
  if (waiting.standard && canStart(s, 'standard')) return 'standard';
  return undefined;
}

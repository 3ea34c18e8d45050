/**
 * The slot policy (pure): the express reserve holds, standard entries never read ahead into it, and an overdue
 * standard entry (aging) starts before express work, in a standard slot only.
 */
import {
  canStart,
  FAST_READ_AHEAD_MIN,
  isOverdue,
  nextLane,
  FAST_READS_IN_FLIGHT,
  MAX_SETTLING_PER_SLOT,
  readBatch,
  readAhead,
  READ_AHEAD_MAX_RUN_MS,
  minimumConcurrency,
  readRoom,
  settlingLimit,
  standardCapacity,
  type SlotCounts,
} from '../../src/lane/slot-policy';

const counts = (over: Partial<SlotCounts> = {}): SlotCounts => ({
  concurrency: 2,
  expressReserve: 1,
  running: { express: 0, standard: 0 },
  buffered: { express: 0, standard: 0 },
  requested: { express: 0, standard: 0 },
  settling: 0,
  expressReadAhead: 0,
  standardReadAhead: 0,
  ...over,
});

describe('slot policy', () => {
  it('never gives standard tasks the reserved slots, even at the smallest concurrency', () => {
    expect(minimumConcurrency(1)).toBe(2);
    expect(minimumConcurrency(3)).toBe(4);
    // The old rule, max(1, concurrency - reserve), gave the only slot of concurrency 1 to standard work.
    expect(standardCapacity(1, 1)).toBe(0);
    expect(standardCapacity(2, 1)).toBe(1);
    const oneStandardRunning = counts({ running: { express: 0, standard: 1 } });
    expect(canStart(oneStandardRunning, 'standard')).toBe(false);
    expect(canStart(oneStandardRunning, 'express')).toBe(true);
    expect(readRoom(oneStandardRunning, 'standard')).toBe(0);
    expect(readRoom(oneStandardRunning, 'express')).toBe(1);
  });

  it('reads slow standard work only into free standard slots, fast lanes a batch ahead', () => {
    const slow = counts({ concurrency: 8, expressReadAhead: 8 });
    expect(readRoom(slow, 'standard')).toBe(7);
    expect(readBatch(slow, 'express')).toBe(16);
    expect(readRoom(slow, 'express')).toBe(FAST_READS_IN_FLIGHT * 16);
    const fast = counts({ concurrency: 8, standardReadAhead: 8 });
    expect(readBatch(fast, 'standard')).toBe(15);
    expect(readRoom(fast, 'standard')).toBe(FAST_READS_IN_FLIGHT * 15);
  });

  it('keeps a second read of a fast lane in flight while the first batch runs; a slow lane reads into free slots', () => {
    // One read, then its batch running: with a single read in flight Node waited for each next batch to be
    // read after running the previous one (saturation: event loop busy 0.63 -> 0.76 with two, bench/express-cost).
    expect(FAST_READS_IN_FLIGHT).toBeGreaterThanOrEqual(2);
    const first = counts({
      concurrency: 50,
      expressReserve: 0,
      expressReadAhead: 50,
      requested: { express: 100, standard: 0 },
    });
    expect(readBatch(first, 'express')).toBe(100);
    expect(readRoom(first, 'express')).toBe(100);
    const running = counts({
      concurrency: 50,
      expressReserve: 0,
      expressReadAhead: 50,
      running: { express: 50, standard: 0 },
      buffered: { express: 50, standard: 0 },
    });
    expect(readRoom(running, 'express')).toBe(100);
    // Both batches out: no third.
    expect(readRoom({ ...running, requested: { express: 100, standard: 0 } }, 'express')).toBe(0);
    // A slow lane (no read-ahead) has no second read.
    const slow = counts({ concurrency: 8, running: { express: 0, standard: 7 } });
    expect(readRoom(slow, 'standard')).toBe(0);
    expect(readRoom(counts({ concurrency: 8, requested: { express: 0, standard: 7 } }), 'standard')).toBe(0);
  });

  it("lets a fast lane's outcome writes of two rounds of both reads be in flight before reading pauses", () => {
    // A lower bound paused a saturated lane's reads for a third of the time while its writes were on their way.
    const fast = counts({ concurrency: 50, expressReserve: 0, expressReadAhead: readAhead(0.1, 50) });
    expect(settlingLimit(fast)).toBeGreaterThanOrEqual(2 * FAST_READS_IN_FLIGHT * readBatch(fast, 'express'));
    expect(
      readRoom({ ...fast, settling: 2 * FAST_READS_IN_FLIGHT * readBatch(fast, 'express') - 1 }, 'express'),
    ).toBe(FAST_READS_IN_FLIGHT * readBatch(fast, 'express'));
  });

  it('reads a batch of at least 32 ahead for fast handlers whatever the concurrency, nothing for slow ones', () => {
    // The default concurrency (2) with a standard task in one slot: a batch of `concurrency` would bring 1-3
    // express entries per read round trip.
    expect(readAhead(1, 2)).toBe(FAST_READ_AHEAD_MIN);
    expect(FAST_READ_AHEAD_MIN).toBeGreaterThanOrEqual(32);
    expect(readAhead(READ_AHEAD_MAX_RUN_MS, 64)).toBe(64);
    expect(readAhead(READ_AHEAD_MAX_RUN_MS + 0.1, 64)).toBe(0);
    const busy = counts({
      concurrency: 2,
      expressReadAhead: readAhead(0.1, 2),
      running: { express: 0, standard: 1 },
    });
    expect(readBatch(busy, 'express')).toBe(2 + FAST_READ_AHEAD_MIN);
    expect(readRoom(busy, 'express')).toBe(
      1 + FAST_READ_AHEAD_MIN + (FAST_READS_IN_FLIGHT - 1) * (2 + FAST_READ_AHEAD_MIN),
    );
  });

  it('never lets standard entries read ahead take express room', () => {
    // 7 standard slots all running and full read-ahead batches buffered behind them.
    const c = counts({
      concurrency: 8,
      standardReadAhead: 8,
      running: { express: 0, standard: 7 },
      buffered: { express: 0, standard: 8 + (FAST_READS_IN_FLIGHT - 1) * 15 },
    });
    expect(readRoom(c, 'standard')).toBe(0);
    expect(readRoom(c, 'express')).toBe(1);
    expect(canStart(c, 'express')).toBe(true);
    expect(canStart(c, 'standard')).toBe(false);
    // Standard work buffered or asked for counts against its capacity, and leaves the reserve to express.
    const standardFull = counts({
      concurrency: 8,
      expressReadAhead: 8,
      running: { express: 0, standard: 4 },
      buffered: { express: 0, standard: 2 },
      requested: { express: 0, standard: 1 },
    });
    expect(readRoom(standardFull, 'standard')).toBe(0);
    // The reserve, the standard slot asked for but not filled yet, the read-ahead batch and the further batches.
    expect(readRoom(standardFull, 'express')).toBe(1 + 1 + 8 + (FAST_READS_IN_FLIGHT - 1) * 16);
  });

  it('does not let a standard read blocked on an empty lane keep express entries out (reserve 0)', () => {
    const c = counts({ concurrency: 1, expressReserve: 0, requested: { express: 0, standard: 1 } });
    expect(readRoom(c, 'express')).toBe(1);
    expect(readRoom(c, 'standard')).toBe(0);
  });

  it('lets express use every slot, and standard never more than concurrency - reserve', () => {
    const busyExpress = counts({ concurrency: 4, running: { express: 3, standard: 0 } });
    expect(canStart(busyExpress, 'express')).toBe(true);
    expect(canStart(busyExpress, 'standard')).toBe(true);
    const full = counts({ concurrency: 4, running: { express: 3, standard: 1 } });
    expect(canStart(full, 'express')).toBe(false);
    expect(canStart(full, 'standard')).toBe(false);
    const standardAtCapacity = counts({ concurrency: 4, running: { express: 0, standard: 3 } });
    expect(canStart(standardAtCapacity, 'standard')).toBe(false);
    expect(canStart(standardAtCapacity, 'express')).toBe(true);
  });

  it('stops reading while too many outcome writes are outstanding', () => {
    const c = counts({ concurrency: 4, settling: MAX_SETTLING_PER_SLOT * 4 });
    expect(readRoom(c, 'express')).toBe(0);
    expect(readRoom(c, 'standard')).toBe(0);
  });

  it('lets a fast lane keep a read-ahead batch of outcome writes in flight, still bounded', () => {
    // Default concurrency 2 and a fast express lane: 6 writes in flight must not stop its reads.
    const fast = counts({ concurrency: 2, expressReadAhead: readAhead(0.1, 2), settling: 6 });
    expect(settlingLimit(fast)).toBe(MAX_SETTLING_PER_SLOT * (2 + FAST_READ_AHEAD_MIN));
    expect(readRoom(fast, 'express')).toBeGreaterThan(0);
    expect(readRoom({ ...fast, settling: settlingLimit(fast) }, 'express')).toBe(0);
    // Slow lanes keep the per-slot bound.
    expect(settlingLimit(counts({ concurrency: 4 }))).toBe(MAX_SETTLING_PER_SLOT * 4);
  });

  describe('aging', () => {
    it('calls a standard entry overdue once it has waited maxWaitMs, never with aging off (0)', () => {
      expect(isOverdue(1_000, 500, 1_499)).toBe(false);
      expect(isOverdue(1_000, 500, 1_500)).toBe(true);
      expect(isOverdue(1_000, 500, 9_000)).toBe(true);
      expect(isOverdue(1_000, 0, 1_000_000)).toBe(false);
    });

    const both = { express: true, standard: true, standardOverdue: false };
    it('starts express before standard while nothing is overdue', () => {
      expect(nextLane(counts({ concurrency: 4 }), both)).toBe('express');
      expect(nextLane(counts({ concurrency: 4 }), { ...both, express: false })).toBe('standard');
      expect(nextLane(counts({ concurrency: 4 }), { ...both, standard: false })).toBe('express');
      expect(nextLane(counts(), { express: false, standard: false, standardOverdue: false })).toBeUndefined();
    });

    it('starts an overdue standard entry before express work', () => {
      const overdue = { ...both, standardOverdue: true };
      expect(nextLane(counts({ concurrency: 4 }), overdue)).toBe('standard');
      // Express holding every slot but the reserve's: the overdue entry takes the next free standard slot.
      expect(nextLane(counts({ concurrency: 4, running: { express: 2, standard: 0 } }), overdue)).toBe(
        'standard',
      );
    });

    it('never gives an overdue standard entry the reserve: express takes it instead', () => {
      const overdue = { ...both, standardOverdue: true };
      // Standard holds all of its capacity (concurrency 4 - reserve 1); the free slot is the reserve.
      const full = counts({ concurrency: 4, running: { express: 0, standard: 3 } });
      expect(nextLane(full, overdue)).toBe('express');
      expect(nextLane(full, { ...overdue, express: false })).toBeUndefined();
      expect(
        nextLane(counts({ concurrency: 4, running: { express: 4, standard: 0 } }), overdue),
      ).toBeUndefined();
    });
  });
});

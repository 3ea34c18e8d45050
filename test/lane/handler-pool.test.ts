/**
 * The handler pools' thread priority: CPU-bound standard work runs at a higher niceness than the event loop, so
 * the kernel gives the loop that serves express tasks the CPU first; express threads and the loop keep theirs.
 */
import os from 'node:os';
import path from 'node:path';
import { HandlerPools, LaneOptionsError } from '../../src/lane';
import { DEFAULT_POOL_NICENESS } from '../../src/lane/handler-pool';
import { currentThreadId } from '../../src/lane/pool-thread';

const handler = { module: path.join(__dirname, '../fixtures/pooled-handlers.ts'), export: 'threadNiceness' };
const linuxThreads = currentThreadId() !== undefined;

describe('handler pools', () => {
  let pools: HandlerPools | undefined;
  afterEach(async () => {
    await pools?.close();
    pools = undefined;
  });

  async function nicenessOf(lane: 'express' | 'standard'): Promise<unknown> {
    const reply = await pools!.run(
      lane,
      handler,
      {},
      { taskId: 't:1', attempt: 1 },
      {
        signal: new AbortController().signal,
      },
    );
    if (!reply.ok) throw new Error(reply.error.message);
    return reply.result;
  }

  (linuxThreads ? it : it.skip)(
    'runs standard threads 10 nicer than the loop and leaves express threads and the loop alone',
    async () => {
      const loopBefore = os.getPriority(currentThreadId()!);
      pools = new HandlerPools({ threads: { express: 1, standard: 1 } });
      expect(DEFAULT_POOL_NICENESS).toEqual({ express: 0, standard: 10 });
      expect(await nicenessOf('standard')).toBe(Math.min(19, loopBefore + 10));
      expect(await nicenessOf('express')).toBe(loopBefore);
      expect(os.getPriority(currentThreadId()!)).toBe(loopBefore);
    },
  );

  (linuxThreads ? it : it.skip)('takes the niceness per lane as an option', async () => {
    pools = new HandlerPools({
      threads: { express: 1, standard: 1 },
      niceness: { express: 3, standard: 15 },
    });
    expect(await nicenessOf('standard')).toBe(15);
    expect(await nicenessOf('express')).toBe(3);
  });

  it('refuses a niceness outside 0..19', () => {
    expect(
      () =>
        new HandlerPools({ threads: { express: 1, standard: 1 }, niceness: { express: 0, standard: 20 } }),
    ).toThrow(LaneOptionsError);
  });
});

/**
 * A full Redis (a redis-server of the test's own with a small `maxmemory` and `noeviction`): submits past it are
 * refused with RedisOutOfMemoryError (what is full and what to do; MCP shows it as is), the refused submit leaves
 * nothing behind, completions refused by the full Redis are retried while the worker holds their entries (no
 * handler runs twice), and once space returns every accepted task ends `succeeded`, having run exactly once.
 */
import IORedis from 'ioredis';
import { z } from 'zod';
import { defineTaskType, ExpressClient, ExpressWorker, RedisOutOfMemoryError } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { describeFailure } from '../../src/mcp/tool-results';
import { freePort, PrivateRedis } from '../lane/lane-helpers';
import { waitFor } from '../helpers/wait';
import { runSagalane } from '../front/front-kit';

const PAYLOAD_BYTES = 16 * 1024;
const RUNNING = 4;

describe('a Redis that is full', () => {
  let server: PrivateRedis;
  let admin: IORedis;
  let client: ExpressClient;
  let worker: ExpressWorker;
  const runs = new Map<string, number>();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));

  beforeAll(async () => {
    server = new PrivateRedis(await freePort());
    await server.start();
    admin = new IORedis(server.url);
  });
  afterAll(async () => {
    release();
    await worker?.stop();
    await client?.close();
    admin.disconnect();
    await server.destroy();
  });

  async function oomRefusals(): Promise<number> {
    const info = await admin.info('errorstats');
    return Number(/errorstat_OOM:count=(\d+)/.exec(info)?.[1] ?? 0);
  }

  it('refuses submits clearly, retries refused completions, and runs every accepted task once when space returns', async () => {
    const types = [
      defineTaskType({
        name: 'job',
        schema: z.object({ n: z.number(), pad: z.string() }),
        handler: async ({ n }, ctx) => {
          runs.set(ctx.taskId, (runs.get(ctx.taskId) ?? 0) + 1);
          await gate;
          return { n };
        },
        defaults: { lane: 'standard', timeoutMs: 600_000 },
      }),
    ];
    client = new ExpressClient({ types, redisUrl: server.url, keyPrefix: 'full' });
    worker = new ExpressWorker({
      types,
      redisUrl: server.url,
      keyPrefix: 'full',
      logger: createLogger('silent'),
      // One slot more: the worker keeps one for express work (expressReserve 1).
      concurrency: { min: RUNNING + 1, max: RUNNING + 1 },
      autoscaleIntervalMs: 0,
    });
    await worker.start();
    const pad = 'x'.repeat(PAYLOAD_BYTES);
    const accepted: string[] = [];
    for (let n = 0; n < RUNNING; n++)
      accepted.push((await client.submit({ type: 'job', payload: { n, pad } })).taskId);
    await waitFor('the first tasks running (their handlers wait at the gate)', () => runs.size === RUNNING);

    // A few MiB above what Redis holds now, then submit until it is full.
    const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))![1]);
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', String(used + 3 * 1024 * 1024));
    let refusal: unknown;
    for (let n = RUNNING; n < 2000 && !refusal; n++) {
      try {
        accepted.push((await client.submit({ type: 'job', payload: { n, pad } })).taskId);
      } catch (err) {
        refusal = err;
      }
    }
    expect(refusal).toBeInstanceOf(RedisOutOfMemoryError);
    expect((refusal as Error).message).toMatch(/^Redis is full: .*maxmemory.*raise maxmemory/);
    // MCP passes the message on as it is, without telling the caller to check its arguments.
    expect(describeFailure(refusal)).toBe((refusal as Error).message);
    // The CLI says the same, and exits 1.
    const cli = await runSagalane({ ...process.env, REDIS_URL: server.url, SAGALANE_KEY_PREFIX: 'full' }, [
      'task',
      'submit',
      '--type',
      'echo',
      '--payload',
      JSON.stringify({ message: 'x'.repeat(9_000) }),
    ]);
    expect({ code: cli.code, stderr: cli.stderr }).toEqual({
      code: 1,
      stderr: expect.stringMatching(/^sagalane: Redis is full: /),
    });
    expect(accepted.length).toBeGreaterThan(RUNNING + 10);
    // The refused submit left nothing: every entry and record is an accepted task's.
    const stats = (await client.stats(['job'])).find((r) => r.lane === 'standard')!;
    expect(stats.length).toBe(accepted.length);

    // The running handlers finish; their completions are refused by the full Redis, and retried.
    const refusedBefore = await oomRefusals();
    release();
    await waitFor(
      'completions refused by the full Redis',
      async () => (await oomRefusals()) > refusedBefore + 2,
    );
    for (const id of accepted.slice(0, RUNNING)) expect((await client.get(id))?.status).toBe('running');

    // Space returns: everything accepted ends succeeded, each handler having run exactly once.
    await admin.config('SET', 'maxmemory', '0');
    const outcomes = await Promise.all(accepted.map((id) => client.result(id, { waitMs: 120_000 })));
    expect(outcomes.filter((o) => o.status !== 'succeeded')).toEqual([]);
    expect([...runs.values()].filter((count) => count !== 1)).toEqual([]);
    expect(runs.size).toBe(accepted.length);
    // And submits are accepted again.
    await expect(client.submit({ type: 'job', payload: { n: -1, pad: '' } })).resolves.toHaveProperty(
      'taskId',
    );
  });
});

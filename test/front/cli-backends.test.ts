/**
 * Each `sagalane` command opens only the backend it needs: `task` and `lane` work with Temporal down, `saga` and
 * `pipeline` with Redis down, and a command whose backend is down exits 69 naming the backend, its address and how
 * to start it. Real processes: the spawned CLI, a real express worker, the run's dev server; "down" is an address
 * where nothing listens.
 */
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startExpressWorker, type RunningExpressWorker } from '../../src/runtime/express-worker';
import type { SagaPage, SagaSummary } from '../../src/client/saga-client';
import type { LaneStats, TaskInfo } from '../../src/lane/express-client';
import { freePort } from '../helpers/ports';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';
import { pollUntil, runSagalane } from './front-kit';

// Each case spawns up to three CLI processes; on the shared 2-core machine one can take tens of seconds to start.
jest.setTimeout(400_000);

describe('sagalane commands with one backend down', () => {
  const keyPrefix = uniquePrefix('front-cli-backends');
  const taskQueue = uniqueTaskQueue('front-cli-backends');
  let deadTemporal: string;
  let deadRedis: string;
  let worker: RunningExpressWorker;
  let ctx: TemporalTestContext;

  beforeAll(async () => {
    deadTemporal = `127.0.0.1:${await freePort()}`;
    deadRedis = `redis://127.0.0.1:${await freePort()}`;
    ctx = await temporalTestContext();
    worker = await startExpressWorker({
      config: loadConfig({ REDIS_URL: redisUrl(), SAGALANE_KEY_PREFIX: keyPrefix }),
      logger: createLogger('silent'),
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await ctx?.closeAll();
    const redis = redisClient();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  const env = (over: Record<string, string>): NodeJS.ProcessEnv => ({
    ...process.env,
    SAGALANE_KEY_PREFIX: keyPrefix,
    SAGALANE_TASK_QUEUE: taskQueue,
    SAGALANE_LOG_LEVEL: 'warn',
    ...over,
  });

  it('task submit --wait and lane stats work with Temporal down', async () => {
    const noTemporal = env({ TEMPORAL_ADDRESS: deadTemporal, REDIS_URL: redisUrl() });
    const run = await runSagalane(noTemporal, [
      'task',
      'submit',
      '--type',
      'echo',
      '--payload',
      '{"message":"hi"}',
      '--wait',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout) as TaskInfo).toMatchObject({
      status: 'succeeded',
      result: { message: 'hi' },
    });

    const stats = await runSagalane(noTemporal, ['lane', 'stats', '--json']);
    expect(stats.code).toBe(0);
    const echo = (JSON.parse(stats.stdout) as LaneStats[]).find(
      (s) => s.type === 'echo' && s.lane === 'express',
    );
    expect(echo?.consumers).toBeGreaterThanOrEqual(1);
  });

  it('saga commands work with Redis down', async () => {
    const noRedis = env({ TEMPORAL_ADDRESS: temporalAddress(), REDIS_URL: deadRedis });
    const sagaId = `cli-no-redis-${Date.now()}`;
    // No worker polls this task queue: the saga is started and listed, nothing runs it.
    const started = await runSagalane(noRedis, [
      'pipeline',
      'start',
      '--idea',
      'started while Redis is down',
      '--symbol',
      'DEMO',
      '--id',
      sagaId,
      '--json',
    ]);
    expect(started.stderr).not.toContain('sagalane:');
    expect(started.code).toBe(0);
    expect(JSON.parse(started.stdout)).toMatchObject({ sagaId });
    try {
      // Visibility is updated asynchronously: ask until the saga shows up.
      const listed = await pollUntil(
        async () => {
          const list = await runSagalane(noRedis, [
            'saga',
            'list',
            '--query',
            `WorkflowId="${sagaId}"`,
            '--json',
          ]);
          expect(list.code).toBe(0);
          return JSON.parse(list.stdout) as SagaPage<SagaSummary>;
        },
        (page) => page.items.some((s) => s.sagaId === sagaId),
        60_000,
        500,
      );
      expect(listed.items.map((s) => s.sagaId)).toEqual([sagaId]);
      const got = await runSagalane(noRedis, ['saga', 'get', sagaId, '--json']);
      expect(got.code).toBe(0);
      expect(JSON.parse(got.stdout)).toMatchObject({ sagaId, state: 'pending' });
    } finally {
      await ctx.client.workflow.getHandle(sagaId).terminate('cli-backends test done');
    }
  });

  it('a command whose backend is down exits 69 naming the backend, its address and how to start it', async () => {
    const task = await runSagalane(env({ TEMPORAL_ADDRESS: temporalAddress(), REDIS_URL: deadRedis }), [
      'task',
      'get',
      'echo:00000000-0000-0000-0000-000000000000',
    ]);
    expect(task.code).toBe(69);
    expect(task.stdout).toBe('');
    expect(task.stderr).toContain(`sagalane: Redis is not reachable at ${deadRedis}`);
    expect(task.stderr).toContain('REDIS_URL');

    const saga = await runSagalane(env({ TEMPORAL_ADDRESS: deadTemporal, REDIS_URL: redisUrl() }), [
      'saga',
      'list',
    ]);
    expect(saga.code).toBe(69);
    expect(saga.stderr).toContain(`sagalane: Temporal is not reachable at ${deadTemporal}`);
    expect(saga.stderr).toContain('TEMPORAL_ADDRESS');
    // How fast a down Temporal is reported (3 s connect timeout) is checked in-process by front-door.test.ts; a
    // spawned process's wall time on this shared machine says more about the load than about the CLI.

    // Without TEMPORAL_ADDRESS the hint is the local stack.
    const port = await freePort();
    const local = await runSagalane(
      { ...env({ REDIS_URL: redisUrl(), SAGALANE_TEMPORAL_PORT: String(port) }), TEMPORAL_ADDRESS: '' },
      ['saga', 'get', 'anything'],
    );
    expect(local.code).toBe(69);
    expect(local.stderr).toContain(
      `Temporal is not reachable at 127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): start it with \`npm start\` (or set TEMPORAL_ADDRESS).`,
    );
  });
});

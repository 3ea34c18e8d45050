/**
 * Stored code is verified before it runs (issue 25): artifacts are signed with a key that is never in Redis, ml and
 * backtest refuse a codegen artifact that is not what codegen stored (`ArtifactTamperedError`, non-retryable) and
 * regenerate from the plan what another process signed. End to end on a real dev server: a saga whose code is
 * swapped in Redis while it waits for approval refuses it at the backtest and rolls back.
 */
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { createActivities } from '../../src/activities/research';
import { createAgents, type AgentDeps } from '../../src/activities/research/agents';
import { ArtifactStore, artifactSigningKey } from '../../src/activities/research/artifact-store';
import { ArtifactTamperedError } from '../../src/activities/research/errors';
import { generateStrategySourceV1 } from '../../src/activities/research/strategy-codegen-v1';
import { planFromIdea } from '../../src/activities/research/strategy-plan';
import { SagaClient } from '../../src/client/saga-client';
import { createLogger } from '../../src/logger';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import { deleteKeys, keysUnder, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { FAST_TUNING } from '../sagas/saga-test-kit';

/** What an attacker with write access to Redis puts in place of the generated strategy. */
const ATTACKER_CODE = 'function positions(bars) { return bars.map(() => 1); }';

describe('stored code is verified before it runs', () => {
  let redis: Redis;
  const keyPrefix = uniquePrefix('artifact-integrity');
  let deps: AgentDeps;
  let agents: ReturnType<typeof createAgents>;
  let store: ArtifactStore;
  const plan = planFromIdea('moving average crossover', 'DEMO');

  beforeAll(() => {
    redis = redisClient();
    deps = {
      redis,
      keyPrefix,
      llm: { model: 'unused', timeoutMs: 1000 },
      planCacheTtlS: 600,
      logger: createLogger('silent'),
    };
    agents = createAgents(deps);
    store = new ArtifactStore(redis, keyPrefix);
  });
  afterAll(async () => {
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  /** Another process's store: its own per-process key (no SAGALANE_ARTIFACT_KEY), or a configured one. */
  const otherProcess = (configured = false) =>
    new ArtifactStore(redis, keyPrefix, undefined, { key: randomBytes(32), configured });

  describe('signatures', () => {
    it('an artifact read back unchanged is verified; a changed body, meta or copy to another saga is tampered', async () => {
      await store.put('sig-a', 'codegen', 'code', 'application/javascript', { family: 'ma_crossover' });
      expect((await store.get('sig-a', 'codegen'))!.integrity).toBe('verified');

      await redis.hset(store.key('sig-a', 'codegen'), 'body', ATTACKER_CODE);
      expect((await store.get('sig-a', 'codegen'))!.integrity).toBe('tampered');

      await store.put('sig-b', 'codegen', 'code', 'application/javascript', { family: 'ma_crossover' });
      await redis.hset(store.key('sig-b', 'codegen'), 'meta', JSON.stringify({ family: 'momentum' }));
      expect((await store.get('sig-b', 'codegen'))!.integrity).toBe('tampered');

      // A genuine artifact of one saga copied under another's key does not verify there.
      await store.put('sig-c', 'codegen', 'code', 'application/javascript', {});
      await redis.hset(store.key('sig-d', 'codegen'), await redis.hgetall(store.key('sig-c', 'codegen')));
      expect((await store.get('sig-d', 'codegen'))!.integrity).toBe('tampered');

      // Without the mac and keyId fields it is tampered for a configured key (every writer had that key).
      const configured = new ArtifactStore(redis, keyPrefix, undefined, artifactSigningKey('a'.repeat(40)));
      await configured.put('sig-e', 'codegen', 'code', 'application/javascript', {});
      expect((await configured.get('sig-e', 'codegen'))!.integrity).toBe('verified');
      await redis.hdel(configured.key('sig-e', 'codegen'), 'mac', 'keyId');
      expect((await configured.get('sig-e', 'codegen'))!.integrity).toBe('tampered');
      // Signed with another configured key: tampered; with another process's own key: unverifiable here.
      await otherProcess(true).put('sig-f', 'codegen', 'code', 'application/javascript', {});
      expect((await configured.get('sig-f', 'codegen'))!.integrity).toBe('tampered');
      await otherProcess(false).put('sig-g', 'codegen', 'code', 'application/javascript', {});
      expect((await store.get('sig-g', 'codegen'))!.integrity).toBe('unverifiable');
      expect(await redis.hget(store.key('sig-g', 'codegen'), 'mac')).toMatch(/^[0-9a-f]{64}$/);
    });
  });

  describe('ml and backtest', () => {
    it('refuse a codegen artifact whose body was replaced in Redis, naming what they refused', async () => {
      const sagaId = 'tampered-body';
      await agents.codegen({ sagaId, plan });
      await redis.hset(store.key(sagaId, 'codegen'), 'body', ATTACKER_CODE);
      const refused = agents.ml({ sagaId, symbol: 'DEMO', plan });
      await expect(refused).rejects.toThrow(ArtifactTamperedError);
      await expect(refused).rejects.toMatchObject({ type: 'ArtifactTampered', nonRetryable: true });
      await expect(refused).rejects.toThrow(/ml refused the codegen artifact of saga tampered-body/);
      await expect(
        agents.backtest({ sagaId, symbol: 'DEMO', params: { fast: 5, slow: 30 } }),
      ).rejects.toThrow(ArtifactTamperedError);
      expect(await store.get(sagaId, 'ml')).toBeUndefined();
      expect(await store.get(sagaId, 'backtest')).toBeUndefined();
    });

    it("run another process's artifact when it is exactly the code codegen writes for its plan", async () => {
      const sagaId = 'signed-elsewhere';
      await agents.codegen({ sagaId, plan });
      const genuine = (await store.get(sagaId, 'codegen'))!;
      // The same artifact as another lane worker (with its own key) would have written it.
      await otherProcess().put(sagaId, 'codegen', genuine.body, genuine.contentType, genuine.meta);
      expect((await store.get(sagaId, 'codegen'))!.integrity).toBe('unverifiable');
      const ml = await agents.ml({ sagaId, symbol: 'DEMO', plan });
      // backtest's input has no plan: it generates the code again from the plan stored with it.
      const bt = await agents.backtest({ sagaId, symbol: 'DEMO', params: ml.params });
      expect(bt.metrics.bars).toBeGreaterThan(0);
    });

    it("run another process's artifact written by the generator before running sums (a saga across an upgrade)", async () => {
      const sagaId = 'written-before';
      await agents.codegen({ sagaId, plan });
      const genuine = (await store.get(sagaId, 'codegen'))!;
      const before = generateStrategySourceV1(plan);
      expect(before).not.toBe(genuine.body);
      await otherProcess().put(sagaId, 'codegen', before, genuine.contentType, genuine.meta);
      const ml = await agents.ml({ sagaId, symbol: 'DEMO', plan });
      const bt = await agents.backtest({ sagaId, symbol: 'DEMO', params: ml.params });
      // The same fit and the same backtest as with today's code.
      const today = 'written-today';
      await agents.codegen({ sagaId: today, plan });
      const mlToday = await agents.ml({ sagaId: today, symbol: 'DEMO', plan });
      const btToday = await agents.backtest({ sagaId: today, symbol: 'DEMO', params: mlToday.params });
      expect({ params: ml.params, metrics: bt.metrics }).toEqual({
        params: mlToday.params,
        metrics: btToday.metrics,
      });
    });

    it("refuse another process's artifact whose code is not what its plan generates", async () => {
      const sagaId = 'forged-elsewhere';
      await agents.codegen({ sagaId, plan });
      const genuine = (await store.get(sagaId, 'codegen'))!;
      // An attacker signing with a key of their own (a keyId this process does not know) gets no further.
      await otherProcess().put(sagaId, 'codegen', ATTACKER_CODE, genuine.contentType, genuine.meta);
      await expect(agents.ml({ sagaId, symbol: 'DEMO', plan })).rejects.toThrow(
        /not what codegen writes for the step's ma_crossover plan/,
      );
      await expect(
        agents.backtest({ sagaId, symbol: 'DEMO', params: { fast: 5, slow: 30 } }),
      ).rejects.toThrow(/not what codegen writes for the stored ma_crossover plan/);
      const { plan: _dropped, ...metaWithoutPlan } = genuine.meta;
      await otherProcess().put(sagaId, 'codegen', genuine.body, genuine.contentType, metaWithoutPlan);
      await expect(
        agents.backtest({ sagaId, symbol: 'DEMO', params: { fast: 5, slow: 30 } }),
      ).rejects.toThrow(/holds no plan to check it against/);
    });
  });

  describe('a saga whose code is swapped in Redis', () => {
    let ctx: TemporalTestContext;
    let sagas: SagaClient;
    const taskQueue = uniqueTaskQueue('artifact-integrity');

    beforeAll(async () => {
      ctx = await temporalTestContext();
      const activities = createActivities(deps);
      await ctx.startWorker({ taskQueue, activities, sinks: createLogSagaSinks(createLogger('silent')) });
      sagas = new SagaClient(ctx.client, { taskQueue });
    });
    afterAll(async () => {
      await ctx?.closeAll();
    });

    it('refuses it at the backtest (ArtifactTampered, not retried) and rolls back', async () => {
      const { sagaId } = await sagas.startPipeline(
        { idea: 'moving average crossover', symbol: 'DEMO', approval: 'before_backtest' },
        { tuning: FAST_TUNING },
      );
      await waitFor(
        `saga ${sagaId} to await approval`,
        async () => (await sagas.getState(sagaId)).state === 'awaiting_approval',
      );
      const codeKey = store.key(sagaId, 'codegen');
      expect((await store.get(sagaId, 'codegen'))!.integrity).toBe('verified');
      await redis.hset(codeKey, 'body', ATTACKER_CODE);

      await sagas.approve(sagaId, { approver: 'ana' });
      await expect(sagas.result(sagaId)).rejects.toThrow(/rolled_back/);
      const final = await sagas.getState(sagaId);
      expect(final.state).toBe('rolled_back');
      const backtest = final.steps.find((s) => s.name === 'backtest');
      expect(backtest).toMatchObject({ status: 'failed', attempts: 1 });
      expect(JSON.stringify(final)).toMatch(/backtest refused the codegen artifact/);
      // The compensations removed what codegen and ml stored; the backtest stored nothing.
      expect(await keysUnder(redis, `${keyPrefix}:artifact:{${sagaId}}`)).toEqual([]);
    });
  });
});

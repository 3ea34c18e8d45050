/**
 * The Temporal wrappers (createActivities) in MockActivityEnvironment: progress heartbeats, the activity's
 * cancellation reaching the handler, and agent errors mapped to (non-)retryable ApplicationFailures with their type.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type Redis from 'ioredis';
import type { AgentDeps } from '../../src/activities/research/agents';
import type { MlOutput, ReasoningOutput } from '../../src/activities/research/contracts';
import { createActivities } from '../../src/activities/research/index';
import { planFromIdea } from '../../src/activities/research/strategy-plan';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';

describe('createActivities (Temporal wrappers)', () => {
  let redis: Redis;
  const keyPrefix = uniquePrefix('activities');
  let deps: AgentDeps;
  const plan = planFromIdea('breakout', 'DEMO');

  beforeAll(() => {
    redis = redisClient();
    deps = {
      redis,
      keyPrefix,
      llm: { model: 'unused', timeoutMs: 1000 },
      planCacheTtlS: 60,
      logger: createLogger('silent'),
    };
  });
  afterAll(async () => {
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
    const err = await promise.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  }

  it('ml heartbeats its progress, one heartbeat per parameter candidate', async () => {
    const activities = createActivities(deps);
    const env = new MockActivityEnvironment();
    const beats: { step: string; done: number; total: number }[] = [];
    env.on('heartbeat', (d: { step: string; done: number; total: number }) => beats.push(d));
    await env.run(activities.codegen, { sagaId: 'hb', plan });
    const ml = (await env.run(activities.ml, { sagaId: 'hb', symbol: 'DEMO', plan })) as MlOutput;
    expect(beats).toHaveLength(ml.candidatesEvaluated);
    expect(beats[beats.length - 1]).toEqual({
      step: 'ml',
      done: ml.candidatesEvaluated,
      total: ml.candidatesEvaluated,
    });
    const btBeats = beats.length;
    await env.run(activities.backtest, { sagaId: 'hb', symbol: 'DEMO', params: ml.params });
    expect(beats.slice(btBeats).map((b) => [b.step, b.done])).toEqual([
      ['backtest', 0],
      ['backtest', 1],
      ['backtest', 2],
    ]);
  });

  it('a cancelled activity stops its search and reports the cancellation', async () => {
    const activities = createActivities(deps);
    const env = new MockActivityEnvironment();
    let beats = 0;
    env.on('heartbeat', () => {
      beats += 1;
      if (beats === 3) env.cancel('CANCELLED');
    });
    await env.run(activities.codegen, { sagaId: 'cancel', plan });
    const err = await env
      .run(activities.ml, { sagaId: 'cancel', symbol: 'DEMO', plan })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(beats).toBe(3);
    expect(await redis.exists(`${keyPrefix}:artifact:{cancel}:ml`)).toBe(0);
  });

  it.each([
    ['an unknown data set', 'DatasetNotFound', { sagaId: 'e1', symbol: 'DEMO', dataset: 'MISSING', plan }],
    [
      'a path outside data/',
      'DatasetAccessDenied',
      { sagaId: 'e1', symbol: 'DEMO', dataset: '/etc/passwd', plan },
    ],
    ['bad parameters', 'InvalidInput', { sagaId: 'e1', symbol: 'DEMO', plan, params: { nonsense: 1 } }],
    [
      'an invalid plan',
      'InvalidInput',
      { sagaId: 'e1', symbol: 'DEMO', plan: { ...plan, parameterRanges: {} } },
    ],
  ])('%s is a non-retryable %s failure', async (_name, type, input) => {
    const activities = createActivities(deps);
    const env = new MockActivityEnvironment();
    await env.run(activities.codegen, { sagaId: 'e1', plan });
    const failure = await failureOf(env.run(activities.ml, input as never));
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(true);
  });

  it('missing generated code is a non-retryable ArtifactMissing failure', async () => {
    const activities = createActivities(deps);
    const failure = await failureOf(
      new MockActivityEnvironment().run(activities.backtest, {
        sagaId: 'nothing',
        symbol: 'DEMO',
        params: {},
      }),
    );
    expect(failure.type).toBe('ArtifactMissing');
    expect(failure.nonRetryable).toBe(true);
  });

  it('an error that is not an agent error (Redis down) stays retryable as it is', async () => {
    const broken = redisClient();
    broken.disconnect();
    const activities = createActivities({ ...deps, redis: broken });
    const err = await new MockActivityEnvironment()
      .run(activities.reasoning, { sagaId: 'r', idea: 'trend', symbol: 'DEMO' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(ApplicationFailure);
    expect((err as Error).message).toMatch(/Connection is closed/i);
  });

  it('registers every pipeline activity under its contract name, and the local activities the pipeline asks for', () => {
    const activities = createActivities(deps);
    // cachedPlan and localSteps run as local activities: a worker without them fails the saga's first workflow task.
    expect(Object.keys(activities).sort()).toEqual([
      'backtest',
      'cachedPlan',
      'codegen',
      'compensateBacktest',
      'compensateCodegen',
      'compensateMl',
      'compensateReasoning',
      'localSteps',
      'ml',
      'reasoning',
    ]);
  });

  it('can be built from the process configuration (the saga worker default)', async () => {
    const config = loadConfig({ SAGALANE_KEY_PREFIX: `${keyPrefix}-cfg`, SAGALANE_LOG_LEVEL: 'silent' });
    const activities = createActivities({ config, redis, logger: createLogger('silent') });
    const out = (await new MockActivityEnvironment().run(activities.reasoning, {
      sagaId: 'cfg',
      idea: 'breakout',
      symbol: 'DEMO',
    })) as ReasoningOutput;
    expect(out.cacheKey.startsWith(`${keyPrefix}-cfg:plan-cache:`)).toBe(true);
    await deleteKeys(redis, `${keyPrefix}-cfg`);
  });
});

/**
 * The reasoning agent reads "a month" in bars of the data set the saga will trade: the data set named like the
 * symbol (what ml and backtest load when no other is named). Weekly data: a quarter is 13 bars; the daily sample
 * data: 63. The two plans are cached apart. Real Redis for the plan cache, real CSV files in a data directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Redis from 'ioredis';
import type { AgentDeps } from '../../src/activities/research/agent-context';
import { createAgents } from '../../src/activities/research/agents';
import { FAMILY_SPECS } from '../../src/activities/research/strategy-families';
import { rangeAround } from '../../src/activities/research/strategy-plan';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';

describe('the reasoning agent and the data set frequency', () => {
  let redis: Redis;
  const keyPrefix = uniquePrefix('reasoning-frequency');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-weekly-'));

  beforeAll(() => {
    redis = redisClient();
    // DEMO's daily bars, every fifth one: a weekly data set (one bar per week).
    const [header, ...rows] = fs
      .readFileSync(path.join(__dirname, '../../data/DEMO.csv'), 'utf8')
      .trim()
      .split('\n');
    fs.writeFileSync(
      path.join(dataDir, 'WEEKLY.csv'),
      [header, ...rows.filter((_, i) => i % 5 === 0)].join('\n'),
    );
    fs.copyFileSync(path.join(__dirname, '../../data/DEMO.csv'), path.join(dataDir, 'DEMO.csv'));
  });
  afterAll(async () => {
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('plans a quarter as 13 weekly bars and as 63 daily bars, cached apart', async () => {
    const deps: AgentDeps = {
      redis,
      keyPrefix,
      dataDir,
      llm: { model: 'unused', timeoutMs: 1000 },
      planCacheTtlS: 600,
      logger: createLogger('silent'),
    };
    const agents = createAgents(deps);
    const idea = 'momentum over a quarter';
    const weekly = await agents.reasoning({ sagaId: 'freq-weekly', idea, symbol: 'WEEKLY' });
    const daily = await agents.reasoning({ sagaId: 'freq-daily', idea, symbol: 'DEMO' });
    const lookback = FAMILY_SPECS.momentum.parameters.lookback!;
    expect(weekly.plan.parameterRanges.lookback).toEqual(rangeAround(13, lookback));
    expect(daily.plan.parameterRanges.lookback).toEqual(rangeAround(63, lookback));
    expect(weekly.cacheKey).not.toBe(daily.cacheKey);
  });
});

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createFixtureActivities } from './fixtures/test-activities';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from './helpers/temporal';
import { deleteKeys, redisClient, uniquePrefix } from './helpers/redis';
import { ConfigError, loadConfig } from '../src/config';
import { findTemporalCli } from '../src/dev/temporal-cli';

describe('foundation: the real stack the suite runs on', () => {
  let ctx: TemporalTestContext;
  beforeAll(async () => {
    ctx = await temporalTestContext();
  });
  afterAll(async () => {
    await ctx.closeAll();
  });

  it('runs a workflow that calls an activity through the real dev server and a real worker', async () => {
    const taskQueue = uniqueTaskQueue('foundation');
    const calls: number[] = [];
    await ctx.startWorker({ taskQueue, activities: createFixtureActivities(calls) });
    const result = await ctx.client.workflow.execute('fixtureEcho', {
      taskQueue,
      workflowId: `foundation-${Date.now()}`,
      args: [7],
    });
    expect(result).toBe('workflow got: 7 is odd');
    expect(calls).toEqual([7]);
  });

  it('has the saga search attributes registered on the dev server', async () => {
    const res = await ctx.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    expect(Object.keys(res.customAttributes ?? {})).toEqual(
      expect.arrayContaining(['SagaState', 'SagaStep']),
    );
  });

  it('reaches a real Redis under its own key prefix', async () => {
    const redis = redisClient();
    const prefix = uniquePrefix('foundation');
    try {
      await redis.set(`${prefix}:k`, 'v');
      expect(await redis.get(`${prefix}:k`)).toBe('v');
      expect(await deleteKeys(redis, prefix)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});

describe('config', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(c.temporal.address).toBeUndefined();
    expect(c.temporal.taskQueue).toBe('sagalane-sagas');
    expect(c.mcp.host).toBe('127.0.0.1');
  });

  it('names every invalid variable', () => {
    let err: unknown;
    try {
      loadConfig({ REDIS_URL: 'http://nope', SAGALANE_MCP_PORT: '99999', SAGALANE_LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const vars = (err as ConfigError).problems.map((p) => p.variable).sort();
    expect(vars).toEqual(['REDIS_URL', 'SAGALANE_LOG_LEVEL', 'SAGALANE_MCP_PORT']);
    expect((err as Error).message).toContain('REDIS_URL');
  });

  it('refuses an MCP endpoint exposed beyond loopback without a token', () => {
    expect(() => loadConfig({ SAGALANE_MCP_HOST: '0.0.0.0' })).toThrow(/SAGALANE_MCP_TOKEN/);
    expect(
      loadConfig({ SAGALANE_MCP_HOST: '0.0.0.0', SAGALANE_MCP_TOKEN: 's3cret-of-16-chars' }).mcp.token,
    ).toBe('s3cret-of-16-chars');
  });

  it('stops a process started with bad config with exit code 2 and the variable named', () => {
    let status = 0;
    let stderr = '';
    try {
      execFileSync(
        path.resolve('node_modules/.bin/tsx'),
        ['-e', "require('./src/config').loadConfigOrExit()"],
        { env: { ...process.env, TEMPORAL_NAMESPACE: '' }, stdio: 'pipe' },
      );
    } catch (e) {
      const err = e as { status: number; stderr: Buffer };
      status = err.status;
      stderr = err.stderr.toString();
    }
    expect(status).toBe(2);
    expect(stderr).toContain('TEMPORAL_NAMESPACE');
  });
});

describe('Temporal CLI lookup', () => {
  it('prefers SAGALANE_TEMPORAL_CLI and rejects a path that is not executable', () => {
    const found = findTemporalCli();
    expect(found).toBeDefined();
    expect(findTemporalCli({ env: { SAGALANE_TEMPORAL_CLI: found! } })).toBe(found);
    expect(() => findTemporalCli({ env: { SAGALANE_TEMPORAL_CLI: '/nonexistent/temporal' } })).toThrow(
      /not an executable/,
    );
  });
});

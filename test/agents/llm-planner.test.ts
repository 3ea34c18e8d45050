/**
 * The OpenAI-compatible reasoning provider against a local HTTP server: a good answer becomes a validated plan,
 * garbage and silence become clear retryable errors, and the process keeps serving.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type Redis from 'ioredis';
import { createAgents, planCacheKey, type AgentDeps } from '../../src/activities/agents';
import type { ReasoningOutput } from '../../src/activities/contracts';
import { LlmProviderError } from '../../src/activities/errors';
import { createActivities } from '../../src/activities/index';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';

type Behaviour = 'plan' | 'fenced' | 'garbage' | 'not-a-plan' | 'hang' | 'unauthorized';

describe('LLM reasoning provider (local OpenAI-compatible server)', () => {
  let server: http.Server;
  const sockets = new Set<Socket>();
  let baseUrl: string;
  let behaviour: Behaviour = 'plan';
  const requests: { url: string; auth?: string; body: Record<string, unknown> }[] = [];
  let redis: Redis;
  const keyPrefix = uniquePrefix('llm');
  let deps: AgentDeps;

  const completion = (content: string) =>
    JSON.stringify({ choices: [{ message: { role: 'assistant', content } }] });
  const plan = {
    family: 'breakout',
    parameterRanges: {
      lookback: { min: 20, max: 40, step: 10 },
      exitLookback: { min: 10, max: 10, step: 1 },
    },
    rationale: 'new highs tend to continue',
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        requests.push({ url: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(raw) });
        const send = (status: number, body: string) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(body);
        if (behaviour === 'plan') send(200, completion(JSON.stringify(plan)));
        else if (behaviour === 'fenced') send(200, completion('```json\n' + JSON.stringify(plan) + '\n```'));
        else if (behaviour === 'garbage') send(200, 'I am a teapot, not JSON');
        else if (behaviour === 'not-a-plan')
          send(200, completion(JSON.stringify({ family: 'astrology', rationale: 'stars' })));
        else if (behaviour === 'unauthorized') send(401, '{"error":"bad key"}');
        // 'hang': never answer; the socket is destroyed in afterAll.
      });
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    redis = redisClient();
    deps = {
      redis,
      keyPrefix,
      llm: { baseUrl, model: 'test-model', apiKey: 'sk-test', timeoutMs: 400 },
      planCacheTtlS: 60,
      logger: createLogger('silent'),
    };
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  it('asks the chat-completions endpoint for JSON and returns the validated plan, cached per provider', async () => {
    behaviour = 'plan';
    const agents = createAgents(deps);
    const out = await agents.reasoning({ sagaId: 's1', idea: 'buy breakouts', symbol: 'DEMO' });
    expect(out.plan).toEqual({ ...plan, provider: 'llm:test-model' });
    expect(out.cacheKey).toBe(planCacheKey(keyPrefix, 'buy breakouts', 'DEMO', 'llm:test-model'));
    expect(out.cacheKey).not.toBe(planCacheKey(keyPrefix, 'buy breakouts', 'DEMO', 'builtin'));
    const req = requests[requests.length - 1]!;
    expect(req.url).toBe('/v1/chat/completions');
    expect(req.auth).toBe('Bearer sk-test');
    expect(req.body).toMatchObject({ model: 'test-model', response_format: { type: 'json_object' } });
    expect(JSON.stringify(req.body.messages)).toContain('buy breakouts');
    const before = requests.length;
    expect((await agents.reasoning({ sagaId: 's2', idea: 'buy breakouts', symbol: 'DEMO' })).cached).toBe(
      true,
    );
    expect(requests).toHaveLength(before); // served from the cache
  });

  it('accepts a plan wrapped in a code fence', async () => {
    behaviour = 'fenced';
    const out = await createAgents(deps).reasoning({ sagaId: 's3', idea: 'fenced idea', symbol: 'DEMO' });
    expect(out.plan.family).toBe('breakout');
  });

  it.each([
    ['garbage', /not a chat completion.*I am a teapot/],
    ['not-a-plan', /LLM plan failed validation: family/],
    ['hang', /did not answer within 400 ms/],
  ] as const)('%s is a retryable LlmProviderError, and nothing is cached', async (mode, message) => {
    behaviour = mode;
    const idea = `idea for ${mode}`;
    const err = await createAgents(deps)
      .reasoning({ sagaId: 's4', idea, symbol: 'DEMO' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmProviderError);
    expect((err as Error).message).toMatch(message);
    expect((err as LlmProviderError).retryable).toBe(true);
    expect(await redis.exists(planCacheKey(keyPrefix, idea, 'DEMO', 'llm:test-model'))).toBe(0);
  });

  it('a wrong key (401) is not retried', async () => {
    behaviour = 'unauthorized';
    const err = await createAgents(deps)
      .reasoning({ sagaId: 's5', idea: 'any', symbol: 'DEMO' })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/answered HTTP 401/);
    expect((err as LlmProviderError).retryable).toBe(false);
  });

  it('as a Temporal activity: garbage is a retryable ApplicationFailure with its type', async () => {
    behaviour = 'garbage';
    const activities = createActivities(deps);
    const err = await new MockActivityEnvironment()
      .run(activities.reasoning, { sagaId: 's6', idea: 'garbage again', symbol: 'DEMO' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('LlmProviderFailed');
    expect((err as ApplicationFailure).nonRetryable).toBe(false);
    // The server (and this process) still answer after the failures above.
    behaviour = 'plan';
    const ok = (await new MockActivityEnvironment().run(activities.reasoning, {
      sagaId: 's7',
      idea: 'after garbage',
      symbol: 'DEMO',
    })) as ReasoningOutput;
    expect(ok.plan.provider).toBe('llm:test-model');
  });
});

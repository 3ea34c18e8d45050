/**
 * The OpenAI-compatible reasoning provider against a local HTTP server: a good answer becomes a validated plan; a
 * reply that fails the schema is asked for once more; a second bad reply, or silence past the timeout, makes the
 * built-in planner answer and the plan say so; a wrong key fails non-retryably; the process keeps serving.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import type Redis from 'ioredis';
import { createAgents, planCacheKey, type AgentDeps } from '../../src/activities/research/agents';
import type { ReasoningOutput } from '../../src/activities/research/contracts';
import { LlmProviderError, UnmappableIdeaError } from '../../src/activities/research/errors';
import { createActivities } from '../../src/activities/research/index';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';

type Behaviour = 'plan' | 'fenced' | 'garbage' | 'not-a-plan' | 'hang' | 'unauthorized' | 'no-family';

describe('LLM reasoning provider (local OpenAI-compatible server)', () => {
  let server: http.Server;
  const sockets = new Set<Socket>();
  let baseUrl: string;
  let behaviour: Behaviour = 'plan';
  /** Replies to send first, in order, before falling back to `behaviour`. */
  let script: Behaviour[] = [];
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
    direction: 'long_only',
    understood: [{ phrase: 'breakouts', meaning: 'family breakout' }],
    assumed: ['exit after a 10-bar low'],
    familySource: 'idea',
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        requests.push({ url: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(raw) });
        const send = (status: number, body: string) =>
          res.writeHead(status, { 'content-type': 'application/json' }).end(body);
        const mode = script.shift() ?? behaviour;
        if (mode === 'plan') send(200, completion(JSON.stringify(plan)));
        else if (mode === 'fenced') send(200, completion('```json\n' + JSON.stringify(plan) + '\n```'));
        else if (mode === 'garbage') send(200, 'I am a teapot, not JSON');
        else if (mode === 'not-a-plan')
          send(200, completion(JSON.stringify({ family: 'astrology', rationale: 'stars' })));
        else if (mode === 'no-family')
          send(200, completion(JSON.stringify({ ...plan, familySource: 'default' })));
        else if (mode === 'unauthorized') send(401, '{"error":"bad key"}');
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
      // Generous: the machine may be loaded; only the 'hang' case uses a short limit (it waits it out).
      llm: { baseUrl, model: 'test-model', apiKey: 'sk-test', timeoutMs: 10_000 },
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

  it('puts the family table and the plan schema (understood, assumed) in the system prompt', async () => {
    // A request of this test's own (an idea no other test asks, so not served from the plan cache).
    behaviour = 'plan';
    const before = requests.length;
    await createAgents(deps).reasoning({
      sagaId: 's-prompt',
      idea: 'read the system prompt',
      symbol: 'DEMO',
    });
    expect(requests.length).toBeGreaterThan(before);
    const system = (requests[before]!.body.messages as { role: string; content: string }[])[0]!.content;
    for (const family of [
      'ma_crossover',
      'ema_crossover',
      'rsi',
      'bollinger',
      'macd',
      'breakout',
      'momentum',
    ])
      expect(system).toContain(`- ${family} `);
    expect(system).toMatch(/"understood".*"assumed"/s);
    expect(system).toContain('exactly');
  });

  it('a reply that fails the schema is asked for once more, with the errors, and the second answer is used', async () => {
    script = ['not-a-plan', 'plan'];
    const before = requests.length;
    const out = await createAgents(deps).reasoning({ sagaId: 's8', idea: 'second try', symbol: 'DEMO' });
    expect(out.plan.provider).toBe('llm:test-model');
    expect(requests).toHaveLength(before + 2);
    const retry = JSON.stringify(requests[requests.length - 1]!.body.messages);
    expect(retry).toMatch(/previous reply was refused: LLM plan failed validation: family/);
  });

  it.each([
    ['garbage', 2, /not a chat completion.*I am a teapot/],
    ['not-a-plan', 2, /LLM plan failed validation: family/],
    ['hang', 1, /did not answer within 400 ms/],
  ] as const)(
    '%s: the built-in planner answers, the plan says so, and nothing is cached',
    async (mode, asked, reason) => {
      behaviour = mode;
      script = [];
      const idea = `buy when RSI below 30 (${mode})`;
      const before = requests.length;
      const limited = {
        ...deps,
        llm: { ...deps.llm, timeoutMs: mode === 'hang' ? 400 : deps.llm.timeoutMs },
      };
      const out = await createAgents(limited).reasoning({ sagaId: 's4', idea, symbol: 'DEMO' });
      expect(requests.length - before).toBe(asked);
      expect(out.plan.family).toBe('rsi');
      expect(out.plan.provider).toBe('builtin (fallback from llm:test-model)');
      expect(out.plan.assumed![0]).toMatch(/^the LLM planner failed \(/);
      expect(out.plan.assumed![0]).toMatch(reason);
      expect(out.plan.assumed![0]).toMatch(/the built-in planner answered$/);
      expect(await redis.exists(planCacheKey(keyPrefix, idea, 'DEMO', 'llm:test-model'))).toBe(0);
    },
  );

  it('strict planning refuses a plan the model says it had to default', async () => {
    behaviour = 'no-family';
    const err = await createAgents(deps)
      .reasoning({ sagaId: 's9', idea: 'make me rich quickly', symbol: 'DEMO', strict: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnmappableIdeaError);
    expect((err as UnmappableIdeaError).nonRetryable).toBe(true);
  });

  it('a wrong key (401) is not retried', async () => {
    behaviour = 'unauthorized';
    const err = await createAgents(deps)
      .reasoning({ sagaId: 's5', idea: 'any', symbol: 'DEMO' })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/answered HTTP 401/);
    expect((err as LlmProviderError).retryable).toBe(false);
  });

  it('as a Temporal activity: garbage still plans (fallback); a wrong key is a non-retryable failure', async () => {
    behaviour = 'garbage';
    const activities = createActivities(deps);
    const fallback = (await new MockActivityEnvironment().run(activities.reasoning, {
      sagaId: 's6',
      idea: 'garbage again',
      symbol: 'DEMO',
    })) as ReasoningOutput;
    expect(fallback.plan.provider).toMatch(/^builtin \(fallback/);
    behaviour = 'unauthorized';
    const err = await new MockActivityEnvironment()
      .run(activities.reasoning, { sagaId: 's6', idea: 'wrong key', symbol: 'DEMO' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('LlmProviderFailed');
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    // The server (and this process) still answer after the failures above.
    behaviour = 'plan';
    script = [];
    const ok = (await new MockActivityEnvironment().run(activities.reasoning, {
      sagaId: 's7',
      idea: 'after garbage',
      symbol: 'DEMO',
    })) as ReasoningOutput;
    expect(ok.plan.provider).toBe('llm:test-model');
  });
});

/**
 * Config-load edges (#25 finding 7): loopback decided by address, a minimum MCP token length, timeouts that fit a
 * Node timer, artifacts that outlive the longest approval wait; and (finding 6) a ConfigError names the variable,
 * never its value.
 */
import { ConfigError, isLoopback, loadConfig, LONGEST_SAGA_SPAN_S, MAX_TIMER_MS } from '../src/config';
import { pipelineInputSchema } from '../src/workflows/research/pipeline-contract';

const TOKEN = 'a-token-of-24-characters';

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('isLoopback: by address, not by the look of a name', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '127.255.255.254',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    '::ffff:127.0.0.1',
    'localhost',
    'LOCALHOST',
  ])('%s is loopback', (host) => expect(isLoopback(host)).toBe(true));

  it.each([
    '127.corp.example',
    '127.0.0.1.nip.io',
    '127.example',
    '0.0.0.0',
    '::',
    '10.0.0.1',
    '::ffff:10.0.0.1',
    'localhost.evil.example',
    '128.0.0.1',
    '',
  ])('%s is not loopback', (host) => expect(isLoopback(host)).toBe(false));

  it('asks for a token when the MCP host is a name that only starts with 127.', () => {
    expect(configError({ SAGALANE_MCP_HOST: '127.corp.example' }).problems.map((p) => p.variable)).toEqual([
      'SAGALANE_MCP_TOKEN',
    ]);
    expect(loadConfig({ SAGALANE_MCP_HOST: '127.0.0.2' }).mcp.token).toBeUndefined();
  });
});

describe('SAGALANE_MCP_TOKEN', () => {
  it('must be at least 16 characters, and the error does not print it', () => {
    const err = configError({ SAGALANE_MCP_HOST: '0.0.0.0', SAGALANE_MCP_TOKEN: 'short-tok' });
    expect(err.problems.map((p) => p.variable)).toEqual(['SAGALANE_MCP_TOKEN']);
    expect(err.message).toMatch(/at least 16 characters/);
    expect(err.message).not.toContain('short-tok');
    // On loopback too: a token that is set is a token that is checked.
    expect(configError({ SAGALANE_MCP_TOKEN: 'x' }).problems.map((p) => p.variable)).toEqual([
      'SAGALANE_MCP_TOKEN',
    ]);
    expect(loadConfig({ SAGALANE_MCP_HOST: '0.0.0.0', SAGALANE_MCP_TOKEN: TOKEN }).mcp.token).toBe(TOKEN);
  });
});

describe('timeouts fit a timer', () => {
  it('MAX_TIMER_MS is the longest delay setTimeout honours', () => {
    expect(MAX_TIMER_MS).toBe(2 ** 31 - 1);
  });

  it.each([
    'SAGALANE_LLM_TIMEOUT_MS',
    'SAGALANE_MCP_SESSION_IDLE_MS',
    'SAGALANE_MCP_TASK_RESULT_WAIT_MS',
    'SAGALANE_SHUTDOWN_GRACE_MS',
  ])('%s over 2^31-1 ms is refused, naming the variable', (variable) => {
    const err = configError({ [variable]: String(2 ** 31) });
    expect(err.problems.map((p) => p.variable)).toEqual([variable]);
    expect(loadConfig({ [variable]: '60000' })).toBeDefined();
  });

  it('accepts the longest timer', () => {
    expect(loadConfig({ SAGALANE_LLM_TIMEOUT_MS: String(MAX_TIMER_MS) }).llm.timeoutMs).toBe(MAX_TIMER_MS);
  });
});

describe('MCP limits (SAGALANE_MCP_*)', () => {
  const TOKEN_B = 'another-token-of-24-char';

  it('defaults: the bounds createMcpServer and startMcpHttpServer use when not told', () => {
    expect(loadConfig({}).mcp).toMatchObject({
      tokens: [],
      maxSessionsPerToken: undefined,
      maxSubscriptionsPerToken: 1000,
      maxSubscriptions: 100,
      taskResultWaitMs: 300_000,
    });
  });

  it('reads each variable', () => {
    const mcp = loadConfig({
      SAGALANE_MCP_TOKENS: ` ${TOKEN}, ${TOKEN_B} ,`,
      SAGALANE_MCP_MAX_SESSIONS_PER_TOKEN: '3',
      SAGALANE_MCP_MAX_SUBSCRIPTIONS_PER_TOKEN: '50',
      SAGALANE_MCP_MAX_SUBSCRIPTIONS: '7',
      SAGALANE_MCP_TASK_RESULT_WAIT_MS: '1000',
    }).mcp;
    expect(mcp).toMatchObject({
      tokens: [TOKEN, TOKEN_B],
      maxSessionsPerToken: 3,
      maxSubscriptionsPerToken: 50,
      maxSubscriptions: 7,
      taskResultWaitMs: 1000,
    });
    expect(loadConfig({ SAGALANE_MCP_TASK_RESULT_WAIT_MS: String(MAX_TIMER_MS) }).mcp.taskResultWaitMs).toBe(
      MAX_TIMER_MS,
    );
  });

  it.each([
    ['SAGALANE_MCP_TASK_RESULT_WAIT_MS', ['0', '999', '-5', '1.5', 'soon', String(MAX_TIMER_MS + 1)]],
    ['SAGALANE_MCP_MAX_SUBSCRIPTIONS', ['0', '-1', '2.5', 'many', '100001']],
    ['SAGALANE_MCP_MAX_SESSIONS_PER_TOKEN', ['0', '-1', '2.5', 'many', '100001']],
    ['SAGALANE_MCP_MAX_SUBSCRIPTIONS_PER_TOKEN', ['0', '-1', '2.5', 'many', '1000001']],
  ])('%s: bad values are refused, naming the variable', (variable, values) => {
    for (const value of values) {
      const err = configError({ [variable]: value });
      expect(err.problems.map((p) => p.variable)).toEqual([variable]);
    }
  });

  it('SAGALANE_MCP_TOKENS: every token at least 16 characters, named by position, never printed', () => {
    const err = configError({ SAGALANE_MCP_TOKENS: `${TOKEN},short-one,${TOKEN_B},tiny-two` });
    expect(err.problems.map((p) => p.variable)).toEqual(['SAGALANE_MCP_TOKENS']);
    expect(err.message).toMatch(/at least 16 characters.*token 2, 4 are shorter/);
    expect(err.message).not.toMatch(/short-one|tiny-two|a-token-of|another-token/);
  });

  it('SAGALANE_MCP_TOKENS alone is the token an exposed endpoint needs', () => {
    expect(loadConfig({ SAGALANE_MCP_HOST: '0.0.0.0', SAGALANE_MCP_TOKENS: TOKEN }).mcp).toMatchObject({
      token: undefined,
      tokens: [TOKEN],
    });
    const err = configError({ SAGALANE_MCP_HOST: '0.0.0.0', SAGALANE_MCP_TOKENS: ' , ' });
    expect(err.problems.map((p) => p.variable)).toEqual(['SAGALANE_MCP_TOKEN']);
    expect(err.message).toMatch(/SAGALANE_MCP_TOKENS/);
  });
});

describe('artifacts outlive the longest approval wait', () => {
  const approvalMaxMs = (
    pipelineInputSchema.shape.approvalTimeoutMs.unwrap() as unknown as { maxValue: number }
  ).maxValue;
  const sagaMaxMs = (pipelineInputSchema.shape.timeoutMs.unwrap() as unknown as { maxValue: number })
    .maxValue;

  it('LONGEST_SAGA_SPAN_S is the pipeline input limits: the approval wait plus the saga timeout it does not count against', () => {
    expect(approvalMaxMs).toBe(604_800_000);
    expect(LONGEST_SAGA_SPAN_S * 1000).toBe(approvalMaxMs + sagaMaxMs);
  });

  it('the default artifact lifetime is longer than the longest approval wait', () => {
    expect(loadConfig({}).artifactTtlS * 1000).toBeGreaterThan(approvalMaxMs);
    expect(loadConfig({}).artifactTtlS).toBeGreaterThanOrEqual(LONGEST_SAGA_SPAN_S);
  });

  it('a shorter SAGALANE_ARTIFACT_TTL_S is refused at config load', () => {
    for (const ttl of ['604800', '3600']) {
      const err = configError({ SAGALANE_ARTIFACT_TTL_S: ttl });
      expect(err.problems.map((p) => p.variable)).toEqual(['SAGALANE_ARTIFACT_TTL_S']);
      expect(err.message).toMatch(/approval/);
    }
    expect(loadConfig({ SAGALANE_ARTIFACT_TTL_S: String(LONGEST_SAGA_SPAN_S) }).artifactTtlS).toBe(
      LONGEST_SAGA_SPAN_S,
    );
  });
});

describe('ConfigError names the variable, not its value', () => {
  it.each([
    ['REDIS_URL', 'http://default:hunter2-redis-secret@redis.internal:6379'],
    ['SAGALANE_ARTIFACT_KEY', 'too-short-but-secret'],
    ['SAGALANE_MCP_TOKEN', 'tok-secret'],
    ['SAGALANE_MCP_TOKENS', 'a-token-of-24-characters,tokens-secret'],
    ['SAGALANE_LLM_BASE_URL', 'https://user:llm-secret@llm.internal/v1'],
    ['REDIS_CLUSTER_NODES', 'default:cluster-secret@10.0.0.1:7000,10.0.0.2:7001'],
    ['SAGALANE_LLM_TIMEOUT_MS', 'sk-not-a-number-secret'],
  ])('%s', (variable, value) => {
    const err = configError({ [variable]: value });
    expect(err.problems.map((p) => p.variable)).toEqual([variable]);
    expect(err.message).toContain(variable);
    const secret =
      /(hunter2-redis-secret|too-short-but-secret|tokens-secret|tok-secret|llm-secret|cluster-secret|sk-not-a-number-secret)/.exec(
        value,
      )![1]!;
    expect(err.message).not.toContain(secret);
    expect(JSON.stringify(err.problems)).not.toContain(secret);
  });
});

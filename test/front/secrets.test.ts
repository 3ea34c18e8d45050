/**
 * No secrets out (#25 finding 6): a REDIS_URL's password never reaches an error message (the lane's
 * RedisUnavailableError, the front door's BackendUnavailableError, an MCP tool result a read-only client gets), and
 * the logger takes secret fields, URL credentials and key-looking tokens out of every line.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isBackendDown, openLazyFrontDoor, BackendUnavailableError } from '../../src/client/front-door';
import { TemporalUnavailableError } from '../../src/client/errors';
import { loadConfig } from '../../src/config';
import { RedisUnavailableError } from '../../src/lane/errors';
import { ExpressClient } from '../../src/lane/express-client';
import { createLogger, isSecretField, redactedExcerpt, redactText, redactUrl } from '../../src/logger';
import { createMcpServer } from '../../src/mcp/server';
import { DEFAULT_TASK_SCHEMAS } from '../../src/runtime/task-schemas';
import { freePort } from '../helpers/ports';
import { uniquePrefix } from '../helpers/redis';
import { connectInProcess, textOf } from './mcp-kit';

const PASSWORD = 'hunter2-redis-password';

describe('URLs lose their credentials', () => {
  it.each([
    ['redis://default:pw-one@h:6379/0', 'redis://default:***@h:6379/0'],
    ['rediss://:pw-two@h:6380', 'rediss://***@h:6380'],
    ['redis://pw-three@h:6379', 'redis://***@h:6379'],
    ['redis://u:p@ss-four@h:6379', 'redis://u:***@h:6379'],
    ['redis+cluster://u:pw-five@h1:7000,h2:7001', 'redis+cluster://u:***@h1:7000,h2:7001'],
    ['https://api.example/v1?api-key=pw-six&model=x', 'https://api.example/v1?api-key=***&model=x'],
    ['redis://h:6379/0?password=pw-seven', 'redis://h:6379/0?password=***'],
    ['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'],
    ['127.0.0.1:7233', '127.0.0.1:7233'],
  ])('%s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
    expect(redactText(`at ${url}: down`)).toBe(`at ${shown}: down`);
  });
});

describe('what redaction leaves alone', () => {
  it.each([
    'SAGALANE_MCP_TOKEN: must be at least 16 characters (e.g. openssl rand -hex 32)',
    'task echo:3f2b8c1e-9d4a-4c1b-8e2f-0a1b2c3d4e5f done; trace 4bf92f3577b34da6a3ce929d0e0e4736',
    'artifact sagalane:artifact:{pipeline-DEMO-1}:codegen is signed (mac 9f86d081884c7d659a2feaa0c55ad015)',
    'Basic authentication failed; token expired; the Bearer scheme is required',
    'Redis is unavailable at redis://127.0.0.1:6379 (connect ECONNREFUSED 127.0.0.1:6379)',
  ])('%s', (text) => expect(redactText(text)).toBe(text));

  it('field names that only look close', () => {
    for (const name of ['keyPrefix', 'idempotencyKey', 'key', 'maxTokens', 'tokenCount', 'taskId', 'url'])
      expect(isSecretField(name)).toBe(false);
    for (const name of ['token', 'apiKey', 'api_key', 'Authorization', 'SAGALANE_ARTIFACT_KEY', 'set-cookie'])
      expect(isSecretField(name)).toBe(true);
  });

  it('a provider reply: keys and long hex or base64 runs out, then cut', () => {
    const reply = `{"error":"bad key sk-abcdefgh12345678","id":"${'ab12'.repeat(10)}","why":"${'x'.repeat(400)}"}`;
    const cut = redactedExcerpt(reply);
    const kept = '{"error":"bad key sk-***","id":"***","why":"';
    expect(cut).toBe(`${kept}${'x'.repeat(200 - kept.length)}…`);
    expect(cut.length).toBe(201);
    expect(redactedExcerpt('rate_limit_exceeded_for_this_organization on gpt-4o-mini-2024-07-18')).toBe(
      'rate_limit_exceeded_for_this_organization on gpt-4o-mini-2024-07-18',
    );
  });
});

describe('a REDIS_URL password is in no error message', () => {
  let url: string;
  beforeAll(async () => {
    url = `redis://default:${PASSWORD}@127.0.0.1:${await freePort()}`;
  });

  it('RedisUnavailableError from the ExpressClient', async () => {
    const client = new ExpressClient({
      types: DEFAULT_TASK_SCHEMAS,
      redisUrl: url,
      keyPrefix: uniquePrefix('secrets'),
      connectWaitMs: 300,
    });
    try {
      const err = await client.submit({ type: 'echo', payload: { message: 'hi' } }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RedisUnavailableError);
      const e = err as RedisUnavailableError;
      expect(e.message).toContain('redis://default:***@127.0.0.1:');
      expect(e.message).not.toContain(PASSWORD);
      expect(e.url).not.toContain(PASSWORD);
      expect(isBackendDown(e)!.message).not.toContain(PASSWORD);
    } finally {
      await client.close();
    }
  });

  it('BackendUnavailableError from the front door, however it is made', async () => {
    const config = loadConfig({ REDIS_URL: url });
    const door = openLazyFrontDoor(config, { connectTimeoutMs: 500 });
    try {
      const err = await door.express().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as Error).message).toContain('Redis is not reachable at redis://default:***@127.0.0.1:');
      expect((err as Error).message).not.toContain(PASSWORD);
      expect((err as BackendUnavailableError).address).not.toContain(PASSWORD);
    } finally {
      await door.close();
    }
    const direct = new BackendUnavailableError('redis', url, 'start it', `connect ECONNREFUSED ${url}`);
    expect(direct.message).not.toContain(PASSWORD);
    const mapped = isBackendDown(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      {
        redisUrl: url,
      },
    );
    expect(mapped?.message).not.toContain(PASSWORD);
    const temporal = new TemporalUnavailableError(
      'dns:///user:temporal-secret@temporal.internal:7233',
      'down',
    );
    expect(temporal.message).not.toContain('temporal-secret');
    expect(temporal.address).not.toContain('temporal-secret');
  });

  it('an MCP tool result a read-only client gets', async () => {
    const config = loadConfig({ REDIS_URL: url });
    const door = openLazyFrontDoor(config, { connectTimeoutMs: 500 });
    const client = await connectInProcess(
      createMcpServer({ frontDoor: door, readOnly: true, addresses: { redisUrl: config.redisUrl } }),
    );
    try {
      for (const [name, args] of [
        ['lane_stats', { types: ['echo'] }],
        ['get_task', { taskId: '00000000-0000-4000-8000-000000000000' }],
      ] as const) {
        const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
        expect(result.isError).toBe(true);
        expect(textOf(result)).toContain('redis://default:***@127.0.0.1:');
        expect(JSON.stringify(result)).not.toContain(PASSWORD);
      }
    } finally {
      await client.close();
      await door.close();
    }
  });
});

describe('the logger redacts', () => {
  const SECRETS = {
    token: 'tok-secret-1',
    apiKey: 'api-secret-2',
    password: 'pw-secret-3',
    authorization: 'Bearer auth-secret-4',
    SAGALANE_MCP_TOKEN: 'mcp-secret-5',
    SAGALANE_LLM_API_KEY: 'llm-secret-6',
    SAGALANE_ARTIFACT_KEY: 'artifact-secret-7',
    TEMPORAL_API_KEY: 'temporal-secret-8',
    taskToken: 'task-token-secret-9',
    clientSecret: 'client-secret-10',
  };
  const secretValues = [...Object.values(SECRETS), PASSWORD, 'sk-abcdefghij0123456789'];

  function logged(write: (log: ReturnType<typeof createLogger>) => void): string {
    const lines: string[] = [];
    write(createLogger('debug', {}, (line) => lines.push(line)));
    return lines.join('\n');
  }

  it('known secret fields, at any depth, in base fields and in children', () => {
    const out = logged((log) => {
      log.info('starting', { ...SECRETS, keyPrefix: 'sagalane', idempotencyKey: 'k-1' });
      log
        .child({ env: { ...SECRETS } })
        .warn('env', { nested: [{ headers: { Authorization: 'Bearer x' } }] });
    });
    for (const s of secretValues) expect(out).not.toContain(s);
    expect(out).toContain('"keyPrefix":"sagalane"');
    expect(out).toContain('"idempotencyKey":"k-1"');
    expect(out).toContain('"token":"[redacted]"');
  });

  it('credentials of URLs and key-looking tokens in messages, string fields and errors', () => {
    const url = `redis://default:${PASSWORD}@redis.internal:6379`;
    const out = logged((log) => {
      log.error(`Redis at ${url} is down`, {
        redisUrl: url,
        err: new Error(`connect to ${url} failed; key sk-abcdefghij0123456789`),
        note: 'sent Authorization: Bearer bearer-secret-abcdef',
        parsed: new URL(url),
      });
    });
    for (const s of [...secretValues, 'bearer-secret-abcdef']) expect(out).not.toContain(s);
    expect(out).toContain('redis://default:***@redis.internal:6379');
  });
});

/**
 * No secrets out (#25 finding 6), the places the first pass left: a REDIS_URL's password never reaches the endpoint
 * lists `sagalane dev` and `sagalane worker` / `mcp --http` print, the local Redis's errors and log lines, the lane's
 * option errors, nor the log notifications the MCP server sends its clients (read-only ones too).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  LoggingMessageNotificationSchema,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { loadConfig } from '../../src/config';
import { endpointLines } from '../../src/dev/local-stack';
import { ensureRedis } from '../../src/dev/redis-server';
import { LaneOptionsError } from '../../src/lane/errors';
import { parseClusterUrl } from '../../src/lane/redis-connections';
import type { TaskType } from '../../src/lane/task-types';
import { resolveWorkerOptions } from '../../src/lane/worker-options';
import { mcpLogger } from '../../src/mcp/tool-context';
import { runComponents } from '../../src/runtime/run-components';
import { freePort } from '../helpers/ports';
import { pollUntil } from './front-kit';
import { connectInProcess } from './mcp-kit';

const SECRET = 'hunter2-leftover-secret';

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('did not throw');
}

describe('the endpoint lists show addresses without credentials', () => {
  it('sagalane dev: the "sagalane is running" list', () => {
    const lines = endpointLines({
      Redis: `redis://default:${SECRET}@127.0.0.1:6379 (started by sagalane)`,
      'Temporal gRPC': '127.0.0.1:7233',
    });
    expect(lines).toEqual([
      '  Redis          redis://default:***@127.0.0.1:6379 (started by sagalane)',
      '  Temporal gRPC  127.0.0.1:7233',
    ]);
  });

  it('sagalane worker / mcp --http: the lines runComponents prints', async () => {
    const lines: string[] = [];
    await runComponents(
      loadConfig({}),
      [
        {
          name: 'leaky',
          start: async () => ({
            endpoints: { Redis: `rediss://:${SECRET}@redis.internal:6380` },
            stop: () => Promise.reject(new Error(`could not reach redis://u:${SECRET}@redis.internal:6380`)),
          }),
        },
      ],
      { temporalAddress: '', service: 'secrets-test', log: (l) => lines.push(l), until: Promise.resolve() },
    );
    const out = lines.join('\n');
    expect(out).toContain('[sagalane] Redis: rediss://***@redis.internal:6380');
    expect(out).toContain('leaky did not stop cleanly: could not reach redis://u:***@redis.internal:6380');
    expect(out).not.toContain(SECRET);
  });
});

describe('the local Redis (src/dev/redis-server.ts)', () => {
  it('errors name the address without its password', async () => {
    const log: string[] = [];
    for (const url of [
      `redis://default:${SECRET}@redis.invalid:6379`,
      `redis+cluster://default:${SECRET}@redis.invalid:7000,redis.invalid:7001`,
    ]) {
      const err = await ensureRedis(url, os.tmpdir(), (l) => log.push(l)).then(
        () => new Error('ensureRedis found a Redis at redis.invalid'),
        (e: unknown) => e as Error,
      );
      expect(err.message).toMatch(/does not answer/);
      expect(err.message).toContain('default:***@redis.invalid');
      expect(err.message).not.toContain(SECRET);
    }
    expect(log.join('\n')).not.toContain(SECRET);
  });

  it('the "starting redis-server" line shows the address without its password', async () => {
    const port = await freePort();
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-secrets-'));
    const log: string[] = [];
    // No requirepass on the server it starts: `default` has no password, so AUTH with any password is accepted.
    const redis = await ensureRedis(`redis://default:${SECRET}@127.0.0.1:${port}`, dataDir, (l) =>
      log.push(l),
    );
    try {
      expect(redis.started).toBe(true);
      expect(log.join('\n')).toContain(`Nothing answers at redis://default:***@127.0.0.1:${port}`);
      expect(log.join('\n')).not.toContain(SECRET);
    } finally {
      await redis.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('lane option errors', () => {
  const echo = { name: 'echo', handler: async () => ({}) } as unknown as TaskType;

  it('ExpressWorker: a redisUrl of the wrong scheme is shown without its password', () => {
    const err = thrown(() =>
      resolveWorkerOptions({ types: [echo], redisUrl: `http://default:${SECRET}@redis.internal:6379` }),
    );
    expect(err).toBeInstanceOf(LaneOptionsError);
    expect(err.message).toContain('redisUrl must start with redis://');
    expect(err.message).toContain('http://default:***@redis.internal:6379');
    expect(err.message).not.toContain(SECRET);
  });

  it('a malformed Redis Cluster address is shown without its password', () => {
    const err = thrown(() => parseClusterUrl(`redis+cluster://default:${SECRET}@10.0.0.1:7000,not-a-node`));
    expect(err).toBeInstanceOf(LaneOptionsError);
    expect(err.message).toContain('redis+cluster://default:***@10.0.0.1:7000,not-a-node');
    expect(err.message).toContain('not host:port: not-a-node');
    expect(err.message).not.toContain(SECRET);
  });
});

describe('MCP log notifications', () => {
  it('carry no URL credentials, tokens or secret-named fields', async () => {
    const server = new McpServer(
      { name: 'secrets-test', version: '1.0.0' },
      { capabilities: { logging: {} } },
    );
    const client = await connectInProcess(server);
    const received: LoggingMessageNotification['params'][] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
      received.push(n.params);
    });
    try {
      const log = mcpLogger(server);
      log(
        'warning',
        `get_task failed: Redis at redis://default:${SECRET}@redis.internal:6379 does not answer`,
      );
      log('warning', 'submit_task failed', {
        tool: 'submit_task',
        redisUrl: `redis://default:${SECRET}@redis.internal:6379`,
        token: SECRET,
        detail: { header: `Bearer ${SECRET}` },
      });
      await pollUntil(
        async () => received.length,
        (n) => n === 2,
        5000,
        20,
      );
      expect(received[0]!.data).toBe(
        'get_task failed: Redis at redis://default:***@redis.internal:6379 does not answer',
      );
      expect(received[1]!.data).toMatchObject({
        message: 'submit_task failed',
        tool: 'submit_task',
        redisUrl: 'redis://default:***@redis.internal:6379',
      });
      expect(JSON.stringify(received)).not.toContain(SECRET);
    } finally {
      await client.close();
      await server.close();
    }
  });
});

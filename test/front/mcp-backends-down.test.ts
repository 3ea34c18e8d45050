/**
 * `sagalane mcp` with its backends down, as an MCP client that launches it sees it: over stdio and over HTTP it
 * answers initialize and tools/list; a tool whose backend is down is an isError result naming the backend, its
 * address and how to start it; and the same session works as soon as the backend is back (Temporal: the run's dev
 * server behind a forwarder on a port that had nothing; Redis: a private redis-server started later), and reports it
 * again when it goes away.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { freePort } from '../helpers/ports';
import { PrivateRedis } from '../helpers/private-redis';
import { uniquePrefix } from '../helpers/redis';
import { TcpForwarder } from '../helpers/tcp-forwarder';
import { temporalAddress, uniqueTaskQueue } from '../helpers/temporal';
import { READ_TOOLS, WRITE_TOOLS } from '../../src/mcp/server';
import { pollUntil } from './front-kit';
import { textOf } from './mcp-kit';
import { httpMcpClient, spawnHttpMcp, stdioMcpClient, type HttpMcpProcess } from './mcp-processes';

jest.setTimeout(120_000);

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  client.callTool({ name, arguments: args }) as Promise<CallToolResult>;

describe('sagalane mcp with Temporal and Redis down', () => {
  let forwarder: TcpForwarder;
  let redis: PrivateRedis;
  let env: NodeJS.ProcessEnv;
  let http: HttpMcpProcess | undefined;

  beforeAll(async () => {
    forwarder = TcpForwarder.toAddress(await freePort(), temporalAddress());
    redis = new PrivateRedis(await freePort());
    env = {
      ...process.env,
      TEMPORAL_ADDRESS: forwarder.address,
      REDIS_URL: redis.url,
      SAGALANE_TASK_QUEUE: uniqueTaskQueue('front-mcp-down'),
      SAGALANE_KEY_PREFIX: uniquePrefix('front-mcp-down'),
      SAGALANE_LOG_LEVEL: 'warn',
    };
  });
  afterAll(async () => {
    await http?.kill();
    await forwarder?.stop();
    await redis?.destroy();
  });

  it('stdio: starts and lists tools with both down, names each down backend, recovers in the same session', async () => {
    const client = await stdioMcpClient(env);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...READ_TOOLS, ...WRITE_TOOLS].sort());

      const sagaDown = await call(client, 'list_sagas', { pageSize: 1 });
      expect(sagaDown.isError).toBe(true);
      expect(textOf(sagaDown)).toContain(`Temporal is not reachable at ${forwarder.address}`);
      expect(textOf(sagaDown)).toContain('TEMPORAL_ADDRESS');
      expect(textOf(sagaDown)).toContain('The MCP server keeps running');
      const laneDown = await call(client, 'lane_stats', { types: ['echo'] });
      expect(laneDown.isError).toBe(true);
      expect(textOf(laneDown)).toContain(`Redis is not reachable at ${redis.url}`);
      expect(textOf(laneDown)).toContain('REDIS_URL');

      await forwarder.start();
      const sagasBack = await call(client, 'list_sagas', { pageSize: 1 });
      expect(textOf(sagasBack)).not.toContain('not reachable');
      expect(sagasBack.isError).toBeUndefined();
      // Redis is still down: its tools still say so, the saga tools work.
      expect(textOf(await call(client, 'lane_stats', { types: ['echo'] }))).toContain(
        'Redis is not reachable',
      );

      await redis.start();
      // The lane connection retries at most a second apart: the first call after the start may still see it down.
      const laneBack = await pollUntil(
        () => call(client, 'lane_stats', { types: ['echo'] }),
        (r) => !r.isError,
        5_000,
      );
      expect((laneBack.structuredContent as { lanes: unknown[] }).lanes).toHaveLength(2);

      // Gone again after it was connected: still named, with the configured address.
      await forwarder.stop();
      const goneAgain = await call(client, 'list_sagas', { pageSize: 1 });
      expect(goneAgain.isError).toBe(true);
      expect(textOf(goneAgain)).toContain(`Temporal is not reachable at ${forwarder.address}`);
    } finally {
      await client.close();
    }
  });

  it('HTTP: starts with Temporal down, lists tools, names Temporal, then works in the same session', async () => {
    await forwarder.stop();
    http = await spawnHttpMcp(env);
    const client = await httpMcpClient(http.url);
    try {
      expect((await client.listTools()).tools.length).toBe(READ_TOOLS.length + WRITE_TOOLS.length);
      const down = await call(client, 'get_saga', { sagaId: 'pipeline-DEMO-x' });
      expect(down.isError).toBe(true);
      expect(textOf(down)).toContain(`Temporal is not reachable at ${forwarder.address}`);
      await forwarder.start();
      const back = await call(client, 'get_saga', { sagaId: 'pipeline-DEMO-x' });
      expect(textOf(back)).toContain('No saga "pipeline-DEMO-x"'); // Temporal answered
    } finally {
      await client.close();
    }
    expect(await http.stop()).toBe(0);
    http = undefined;
  });
});

/**
 * MCP tasks outlive the MCP process that created them: two real `sagalane mcp --http` processes against the real dev
 * server and a saga worker whose test agents stop at `ml` until released. A task created through process A is polled,
 * fetched and cancelled through process B after A was killed (SIGKILL), and through A started again.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  type Progress,
} from '@modelcontextprotocol/sdk/types.js';
import type { SagaStateView } from '../../src/workflows/saga-contract';
import { releaseStep } from '../fixtures/test-activities';
import { uniqueTaskQueue } from '../helpers/temporal';
import { pollUntil, startFrontStack, startTestSagaQueue, type FrontStack } from './front-kit';
import { textOf } from './mcp-kit';
import { httpMcpClient, spawnHttpMcp, type HttpMcpProcess } from './mcp-processes';

jest.setTimeout(120_000);

describe('MCP tasks across server processes', () => {
  let stack: FrontStack;
  let env: NodeJS.ProcessEnv;
  const processes: HttpMcpProcess[] = [];
  const clients: Client[] = [];
  const queue = uniqueTaskQueue('front-mcp-durable');

  async function server(): Promise<{ proc: HttpMcpProcess; client: Client }> {
    const proc = await spawnHttpMcp(env);
    processes.push(proc);
    const client = await httpMcpClient(proc.url);
    clients.push(client);
    return { proc, client };
  }

  beforeAll(async () => {
    stack = await startFrontStack('front-mcp-durable', { expressWorker: false });
    env = await startTestSagaQueue(stack, queue, () => ({ blockAt: 'ml' }));
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(processes.map((p) => p.kill()));
    await stack?.stop();
  });

  it('a task created on one process is polled, fetched and cancelled on others after the creator was killed', async () => {
    const a = await server();
    const b = await server();
    const create = (client: Client, symbol: string) =>
      client.request(
        {
          method: 'tools/call',
          params: { name: 'start_pipeline', arguments: { idea: 'survive the restart', symbol } },
        },
        CreateTaskResultSchema,
        { task: { ttl: 600_000 } },
      );
    const finished = (await create(a.client, 'DURA')).task.taskId;
    const cancelled = (await create(a.client, 'DURB')).task.taskId;
    for (const id of [finished, cancelled])
      await pollUntil(
        () => a.client.experimental.tasks.getTask(id),
        (t) => t.statusMessage === 'step 3 of 4: ml',
      );
    await a.proc.kill();
    await expect(fetch(a.proc.url, { method: 'POST' })).rejects.toThrow(); // nothing listens there any more

    // B never saw these tasks: it reads them from Temporal.
    const seen = await b.client.experimental.tasks.getTask(finished);
    expect(seen).toMatchObject({ taskId: finished, status: 'working', statusMessage: 'step 3 of 4: ml' });
    // Every page: other test files on the same dev server start sagas too (mcp-tasks.test.ts starts 21 at once),
    // so these two need not be on the first.
    const listedIds: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await b.client.experimental.tasks.listTasks(cursor);
      listedIds.push(...page.tasks.map((t) => t.taskId));
      cursor = page.nextCursor;
    } while (cursor && !(listedIds.includes(finished) && listedIds.includes(cancelled)));
    expect(listedIds).toEqual(expect.arrayContaining([finished, cancelled]));

    // B waits for the result with progress while the saga is released; the steps arrive in order.
    const progress: Progress[] = [];
    const resultPromise = b.client.experimental.tasks.getTaskResult(finished, CallToolResultSchema, {
      onprogress: (p) => progress.push(p),
      timeout: 60_000,
    });
    await pollUntil(
      async () => progress.length,
      (n) => n >= 3,
    );
    await releaseStep(stack.redis, stack.config.keyPrefix, finished);
    const result = await resultPromise;
    expect((result.structuredContent as unknown as SagaStateView).state).toBe('completed');
    expect(progress.map((p) => p.message)).toEqual([
      'step 1 of 4: reasoning',
      'step 2 of 4: codegen',
      'step 3 of 4: ml',
      'step 4 of 4: backtest',
      'completed',
    ]);

    // A started again (a restart of the creator) cancels the other task; B sees the rollback.
    const a2 = await server();
    const outcome = await a2.client.experimental.tasks.cancelTask(cancelled);
    expect(outcome.status).toBe('cancelled');
    const state = await pollUntil(
      async () =>
        JSON.parse(
          textOf(await b.client.callTool({ name: 'get_saga', arguments: { sagaId: cancelled } })),
        ) as SagaStateView,
      (s) => s.state === 'rolled_back',
    );
    expect(state.error).toMatchObject({ reason: 'cancelled' });
    expect((await b.client.experimental.tasks.getTask(cancelled)).status).toBe('cancelled');
    const fetched = await b.client.experimental.tasks.getTaskResult(cancelled, CallToolResultSchema);
    expect(fetched.isError).toBe(true);
    expect(textOf(fetched)).toContain('ended in state rolled_back');
  });
});

/**
 * MCP 2026-07-28 across processes and transports, against spawned `sagalane mcp` processes, the dev server, a saga
 * worker and a lane worker: an approval round started through one process is answered through another sharing
 * SAGALANE_MCP_REQUEST_STATE_KEY (and refused as tampered by one with another key); `subscriptions/listen` with
 * `taskIds` gets the tasks extension's `notifications/tasks` (HTTP and stdio) and, over stdio, `resources/updated`
 * for `saga://` URIs; a lane task is a 2026 task (its id, status, cancel refused, result).
 */
import { ConfigError, loadConfig } from '../../src/config';
import { SagaClient } from '../../src/client/saga-client';
import { uniqueTaskQueue } from '../helpers/temporal';
import { pollUntil, startFrontStack, startTestSagaQueue, type FrontStack } from './front-kit';
import {
  callForTask,
  listenThrough,
  modernHttpClient,
  modernRpc,
  modernStdioClient,
  tasksRequest,
  type ExtensionTask,
} from './mcp-2026-kit';
import { httpMcpClient, spawnHttpMcp, type HttpMcpProcess } from './mcp-processes';

jest.setTimeout(150_000);

const KEY = 'a1'.repeat(32);
const OTHER_KEY = Buffer.alloc(32, 7).toString('base64');

type Note = { method: string; params?: Record<string, unknown> };
const taskNote = (taskId: string, status: string) => (m: Note) =>
  m.method === 'notifications/tasks' && m.params?.taskId === taskId && m.params?.status === status;

describe('MCP 2026-07-28 across processes and transports', () => {
  let stack: FrontStack;
  let env: NodeJS.ProcessEnv;
  let sagas: SagaClient;
  const processes: HttpMcpProcess[] = [];
  const clients: { close(): Promise<void> }[] = [];
  const queue = uniqueTaskQueue('front-mcp-2026-fleet');

  async function spawn(extraEnv: NodeJS.ProcessEnv = {}): Promise<HttpMcpProcess> {
    const proc = await spawnHttpMcp({ ...env, ...extraEnv });
    processes.push(proc);
    return proc;
  }
  function keep<C extends { close(): Promise<void> }>(client: C): C {
    clients.push(client);
    return client;
  }
  async function atGate(idea: string): Promise<string> {
    const { sagaId } = await sagas.startPipeline({ idea, symbol: 'DEMO', approval: 'before_backtest' });
    await pollUntil(
      () => sagas.getState(sagaId),
      (s) => s.state === 'awaiting_approval',
    );
    return sagaId;
  }

  beforeAll(async () => {
    // With a lane worker, for submit_task; the sagas run on a worker of test activities of their own.
    stack = await startFrontStack('front-mcp-2026-fleet');
    env = await startTestSagaQueue(stack, queue);
    sagas = new SagaClient(stack.ctx.client, { taskQueue: queue });
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(processes.map((p) => p.kill()));
    await stack?.stop();
  });

  it('SAGALANE_MCP_REQUEST_STATE_KEY is hex or base64 of 32 bytes or more, else a ConfigError naming it', () => {
    const base = { SAGALANE_MCP_HOST: '127.0.0.1' };
    expect(loadConfig({ ...base, SAGALANE_MCP_REQUEST_STATE_KEY: KEY }).mcp.requestStateKey).toEqual(
      Buffer.from(KEY, 'hex'),
    );
    expect(loadConfig({ ...base, SAGALANE_MCP_REQUEST_STATE_KEY: OTHER_KEY }).mcp.requestStateKey).toEqual(
      Buffer.alloc(32, 7),
    );
    expect(loadConfig(base).mcp.requestStateKey).toBeUndefined();
    for (const bad of ['ab'.repeat(31), Buffer.alloc(31).toString('base64'), 'not a key at all!'.repeat(4)]) {
      let error: unknown;
      try {
        loadConfig({ ...base, SAGALANE_MCP_REQUEST_STATE_KEY: bad });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual([
        {
          variable: 'SAGALANE_MCP_REQUEST_STATE_KEY',
          message: expect.stringMatching(/32 bytes|hex or base64/),
        },
      ]);
      // A ConfigError never prints the value: it may be the secret itself.
      expect((error as Error).message).not.toContain(bad);
    }
  });

  it('an input_required round started through one process is answered through another with the same key, refused by one with another', async () => {
    const [a, b, other] = await Promise.all([
      spawn({ SAGALANE_MCP_REQUEST_STATE_KEY: KEY }),
      spawn({ SAGALANE_MCP_REQUEST_STATE_KEY: KEY }),
      spawn({ SAGALANE_MCP_REQUEST_STATE_KEY: OTHER_KEY }),
    ]);
    const args = { idea: 'answer me elsewhere', symbol: 'DEMO', approval: 'before_backtest' };
    const first = await modernRpc(
      a.url,
      'tools/call',
      { name: 'start_pipeline', arguments: args },
      { elicitation: true },
    );
    const asked = first.result as unknown as {
      resultType: string;
      requestState: string;
      inputRequests: never;
    };
    expect(asked.resultType).toBe('input_required');
    const sagaId = /Saga (\S+) /.exec(JSON.stringify(asked.inputRequests))![1]!;
    const retry = (url: string) =>
      modernRpc(
        url,
        'tools/call',
        {
          name: 'start_pipeline',
          arguments: args,
          requestState: asked.requestState,
          inputResponses: {
            approval: { action: 'accept', content: { decision: 'approve', approver: 'fleet' } },
          },
        },
        { elicitation: true },
      );
    expect((await retry(other.url)).error).toMatchObject({ code: -32602 });
    expect((await sagas.getState(sagaId)).state).toBe('awaiting_approval');
    const answered = await retry(b.url);
    expect(answered.result).toMatchObject({ resultType: 'complete', structuredContent: { sagaId } });
    await pollUntil(
      () => sagas.getState(sagaId),
      (s) => s.state === 'completed',
    );
  });

  it('subscriptions/listen with taskIds gets notifications/tasks as a saga task moves (SDK v2 client over HTTP)', async () => {
    const proc = await spawn();
    const task = await callForTask(proc.url, 'start_pipeline', {
      idea: 'tell me when I change',
      symbol: 'DEMO',
      approval: 'before_backtest',
    });
    // Without the extension declared: refused, as the extension says.
    const plain = keep(await modernHttpClient(proc.url));
    const refused = await listenThrough(plain, { taskIds: [task.taskId] }).ended;
    expect(refused).toMatchObject({ code: -32021 });

    const client = keep(await modernHttpClient(proc.url, { tasks: true }));
    const listen = listenThrough(client, { taskIds: [task.taskId, task.taskId] });
    try {
      const ack = await listen.next((m) => m.method === 'notifications/subscriptions/acknowledged');
      expect(ack.params?.notifications).toEqual({ taskIds: [task.taskId] });
      const waiting = await listen.next(taskNote(task.taskId, 'input_required'));
      expect(waiting.params).toMatchObject({
        inputRequests: { approval: { method: 'elicitation/create' } },
        _meta: { 'io.modelcontextprotocol/subscriptionId': expect.anything() },
      });
      await tasksRequest(client, 'tasks/update', {
        taskId: task.taskId,
        inputResponses: {
          approval: { action: 'accept', content: { decision: 'approve', approver: 'notified' } },
        },
      });
      const done = await listen.next(taskNote(task.taskId, 'completed'));
      expect(done.params).toMatchObject({
        result: { structuredContent: { sagaId: task.taskId, state: 'completed' } },
      });
      // Each one is what tasks/get answers when it is sent (a step shorter than a read may be passed over): in order,
      // the completed one last.
      const statuses = listen.seen
        .filter((m) => m.method === 'notifications/tasks')
        .map((m) => m.params?.status);
      expect(statuses.indexOf('input_required')).toBeLessThan(statuses.indexOf('completed'));
      expect(statuses.at(-1)).toBe('completed');
    } finally {
      listen.close();
    }
  });

  it('subscriptions/listen over stdio gets resources/updated and notifications/tasks as the saga moves', async () => {
    const sagaId = await atGate('listen to me over stdio');
    const uri = `saga://${encodeURIComponent(sagaId)}`;
    const client = keep(await modernStdioClient(env, { tasks: true }));
    const listen = listenThrough(client, { resourceSubscriptions: [uri], taskIds: [sagaId] });
    try {
      const ack = await listen.next((m) => m.method === 'notifications/subscriptions/acknowledged');
      expect(ack.params?.notifications).toEqual({ resourceSubscriptions: [uri], taskIds: [sagaId] });
      await listen.next(taskNote(sagaId, 'input_required'));
      await sagas.approve(sagaId, { approver: 'stdio-listener' });
      await listen.next((m) => m.method === 'notifications/resources/updated' && m.params?.uri === uri);
      const done = await listen.next(taskNote(sagaId, 'completed'));
      expect(done.params).toMatchObject({ result: { structuredContent: { state: 'completed' } } });
    } finally {
      listen.close();
    }
  });

  it('submit_task with the tasks extension is a 2026 task: the lane task id, its status, cancel refused, its result', async () => {
    // A lane no worker reads (a key prefix of its own): its task stays queued, so the cancel meets a running task.
    const idle = await spawn({ SAGALANE_KEY_PREFIX: `${stack.config.keyPrefix}-idle` });
    const queued = await callForTask(idle.url, 'submit_task', { type: 'echo', payload: { message: 'wait' } });
    expect(queued).toMatchObject({
      resultType: 'task',
      status: 'working',
      taskId: expect.stringMatching(/^echo:/),
    });
    const cancel = await modernRpc(idle.url, 'tasks/cancel', { taskId: queued.taskId }, { tasks: true });
    expect(cancel.error).toMatchObject({
      code: -32602,
      message: expect.stringMatching(/lane tasks cannot be cancelled/),
    });
    expect(
      (await modernRpc(idle.url, 'tasks/get', { taskId: queued.taskId }, { tasks: true })).result,
    ).toMatchObject({
      status: 'working',
    });

    const proc = await spawn();
    const created = await callForTask(proc.url, 'submit_task', {
      type: 'echo',
      payload: { message: 'lane as task' },
    });
    expect(created).toMatchObject({
      resultType: 'task',
      taskId: expect.stringMatching(/^echo:[0-9a-f-]{36}$/),
    });
    const client = keep(await modernHttpClient(proc.url, { tasks: true }));
    const done = (await pollUntil(
      () => tasksRequest(client, 'tasks/get', { taskId: created.taskId }),
      (t) => t.status !== 'working',
    )) as ExtensionTask;
    expect(done).toMatchObject({ taskId: created.taskId, status: 'completed' });
    expect(JSON.stringify(done.result)).toContain('lane as task');
    // A finished task's listener gets its final state at once.
    const listen = listenThrough(client, { taskIds: [created.taskId] });
    try {
      expect((await listen.next(taskNote(created.taskId, 'completed'))).params).toMatchObject({
        result: done.result,
      });
    } finally {
      listen.close();
    }
  });

  it('listen streams take their places from the per-token subscription cap, shared with the 2025 sessions', async () => {
    const [tokenA, tokenB] = ['token-a-0123456789abcdef', 'token-b-0123456789abcdef'];
    const proc = await spawn({
      SAGALANE_MCP_TOKENS: `${tokenA},${tokenB}`,
      SAGALANE_MCP_MAX_SUBSCRIPTIONS_PER_TOKEN: '3',
    });
    const [a, b] = [
      keep(await modernHttpClient(proc.url, { tasks: true, token: tokenA })),
      keep(await modernHttpClient(proc.url, { tasks: true, token: tokenB })),
    ];
    const acknowledged = (l: ReturnType<typeof listenThrough>) =>
      l.next((m) => m.method === 'notifications/subscriptions/acknowledged');
    // Two saga URIs and a task: 3 places of token A's.
    const first = listenThrough(a, {
      resourceSubscriptions: ['saga://cap-1', 'saga://cap-2'],
      taskIds: ['cap-3'],
    });
    await acknowledged(first);
    // A 2025 session of the same token finds none left either.
    const legacy = keep(await httpMcpClient(proc.url, tokenA));
    const { sagaId } = await sagas.startPipeline({ idea: 'a saga to subscribe to', symbol: 'DEMO' });
    const sagaUri = `saga://${encodeURIComponent(sagaId)}`;
    await expect(legacy.subscribeResource({ uri: sagaUri })).rejects.toMatchObject({ code: -32000 });
    const over = await listenThrough(a, { resourceSubscriptions: ['saga://cap-5'] }).ended;
    expect(over).toMatchObject({
      code: -32000,
      message: expect.stringMatching(/Too many subscriptions.*\(3\)/),
    });
    // Another token has places of its own.
    const other = listenThrough(b, { resourceSubscriptions: ['saga://cap-6'] });
    await acknowledged(other);
    other.close();
    // An ended stream gives its places back.
    first.close();
    await pollUntil(
      async () => {
        const again = listenThrough(a, { resourceSubscriptions: ['saga://cap-7', 'saga://cap-8'] });
        const outcome = await Promise.race([again.ended, acknowledged(again).then(() => 'acknowledged')]);
        again.close();
        return outcome;
      },
      (outcome) => outcome === 'acknowledged',
      10_000,
    );
  });
});

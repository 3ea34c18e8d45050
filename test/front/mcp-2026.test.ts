/**
 * MCP 2026-07-28 beside 2025-11-25, against real spawned `sagalane mcp` processes, the dev server and a saga worker:
 * one HTTP endpoint and stdio serve the SDK v2 client (pinned to 2026-07-28, stateless) and the SDK v1 client
 * (initialize and a session); an unknown revision gets the spec's error listing the supported ones; the
 * `io.modelcontextprotocol/tasks` extension makes a saga a task that another process reads, answers (approval as
 * `input_required`, `tasks/update`) and cancels, with bad input refused and the saga unchanged.
 */
import type { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js';
import { READ_TOOLS, WRITE_TOOLS } from '../../src/mcp/server';
import type { SagaStateView } from '../../src/workflows/saga-contract';
import { uniqueTaskQueue } from '../helpers/temporal';
import { pollUntil, startFrontStack, startTestSagaQueue, type FrontStack } from './front-kit';
import { Client as ModernClient, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import {
  callForTask,
  MODERN,
  modernRpc,
  modernHttpClient,
  modernStdioClient,
  openListenStream,
  TASKS_EXTENSION,
  tasksRequest,
  type ExtensionTask,
} from './mcp-2026-kit';
import { httpMcpClient, spawnHttpMcp, stdioMcpClient, type HttpMcpProcess } from './mcp-processes';

jest.setTimeout(150_000);

const ALL_TOOLS = [...READ_TOOLS, ...WRITE_TOOLS].sort();

describe('MCP 2026-07-28 beside 2025-11-25', () => {
  let stack: FrontStack;
  let env: NodeJS.ProcessEnv;
  const processes: HttpMcpProcess[] = [];
  const clients: { close(): Promise<void> }[] = [];
  const queue = uniqueTaskQueue('front-mcp-2026');

  async function spawn(args: string[] = []): Promise<HttpMcpProcess> {
    const proc = await spawnHttpMcp(env, args);
    processes.push(proc);
    return proc;
  }
  function keep<C extends { close(): Promise<void> }>(client: C): C {
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    stack = await startFrontStack('front-mcp-2026', { expressWorker: false });
    env = await startTestSagaQueue(stack, queue);
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()));
    await Promise.allSettled(processes.map((p) => p.kill()));
    await stack?.stop();
  });

  it('one HTTP endpoint serves a stateless 2026-07-28 client and a 2025-11-25 session, and refuses unknown revisions', async () => {
    const proc = await spawn();
    const modern = keep(await modernHttpClient(proc.url));
    expect(modern.getNegotiatedProtocolVersion()).toBe(MODERN);
    const tools = (await modern.listTools()).tools;
    expect(tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS);
    for (const tool of tools) {
      expect(tool.inputSchema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema' });
      expect(tool.outputSchema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema' });
    }
    const listed = await modern.callTool({ name: 'list_sagas', arguments: { pageSize: 1 } });
    expect(listed.isError).toBeFalsy();
    expect(listed.structuredContent).toHaveProperty('items');

    const legacy = keep(await httpMcpClient(proc.url));
    expect((await legacy.listTools()).tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS);

    const raw = (method: string, version: string, extra: Record<string, unknown> = {}) =>
      fetch(proc.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': version,
          'mcp-method': method,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 7,
          method,
          params: {
            ...extra,
            _meta: {
              'io.modelcontextprotocol/protocolVersion': version,
              'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
              'io.modelcontextprotocol/clientCapabilities': {},
            },
          },
        }),
      });
    const discovered = (await (await raw('server/discover', MODERN)).json()) as {
      result: {
        supportedVersions: string[];
        capabilities: { extensions?: Record<string, unknown>; tasks?: unknown };
      };
    };
    expect(discovered.result.supportedVersions).toContain(MODERN);
    const unknown = await raw('tools/list', '2030-01-01');
    expect(unknown.status).toBe(400);
    const refused = (await unknown.json()) as {
      error: { code: number; data: { supported: string[]; requested: string } };
    };
    expect(refused.error).toMatchObject({ code: -32022, data: { requested: '2030-01-01' } });
    // The versions server/discover advertises (2025-11-25 is reached through initialize, as the legacy client did).
    expect(refused.error.data.supported).toEqual(discovered.result.supportedVersions);
    expect(discovered.result.capabilities.extensions).toHaveProperty([TASKS_EXTENSION]);
    expect(discovered.result.capabilities.tasks).toBeUndefined();
  });

  it('stdio serves the 2026-07-28 client and the 2025-11-25 client, with the same read-only rule', async () => {
    const modern = keep(await modernStdioClient(env));
    expect(modern.getNegotiatedProtocolVersion()).toBe(MODERN);
    expect((await modern.listTools()).tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS);
    const readOnly = keep(await modernStdioClient(env, { args: ['--read-only'] }));
    expect((await readOnly.listTools()).tools.map((t) => t.name).sort()).toEqual([...READ_TOOLS].sort());
    const legacy: LegacyClient = keep(await stdioMcpClient(env));
    expect(legacy.getServerVersion()?.name).toBe('sagalane');
    expect((await legacy.listTools()).tools.map((t) => t.name).sort()).toEqual(ALL_TOOLS);
  });

  it('a saga task made through one process is answered through input_required and cancelled through another', async () => {
    const a = await spawn();
    const b = await spawn();
    const readOnlyProc = await spawn(['--read-only']);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const approve = await callForTask(
      a.url,
      'start_pipeline',
      { idea: 'answer me through tasks/update', symbol: 'DEMO', approval: 'before_backtest' },
      { traceparent },
    );
    const cancel = await callForTask(
      a.url,
      'start_pipeline',
      { idea: 'cancel me through tasks/cancel', symbol: 'TREND', approval: 'before_backtest' },
      { traceparent: 'not a traceparent' },
    );
    // _meta.traceparent is kept on the saga as a memo (a malformed one is left out).
    const memoOf = async (id: string) => (await stack.sagas.client.workflow.getHandle(id).describe()).memo;
    expect(await memoOf(approve.taskId)).toMatchObject({ traceparent });
    expect(await memoOf(cancel.taskId)).not.toHaveProperty('traceparent');
    for (const created of [approve, cancel]) {
      expect(created).toMatchObject({ resultType: 'task', status: 'working' });
      expect(created.taskId).toMatch(/^pipeline-/);
      expect(typeof created.ttlMs).toBe('number');
      expect(typeof created.pollIntervalMs).toBe('number');
      expect(created).not.toHaveProperty('ttl');
      expect(created).not.toHaveProperty('result');
    }
    await a.kill();

    const onB = keep(await modernHttpClient(b.url, { tasks: true }));
    const get = (taskId: string) => tasksRequest(onB, 'tasks/get', { taskId });
    const waiting = await pollUntil(
      () => get(approve.taskId),
      (t) => t.status === 'input_required',
      60_000,
    );
    const asked = waiting.inputRequests?.approval;
    expect(asked?.method).toBe('elicitation/create');
    expect(String(asked?.params.message)).toContain(approve.taskId);
    expect(asked?.params.requestedSchema).toMatchObject({
      properties: { decision: { enum: ['approve', 'reject'] } },
      required: ['decision'],
    });

    // Bad answers are refused and change nothing.
    await expect(
      tasksRequest(onB, 'tasks/update', {
        taskId: approve.taskId,
        inputResponses: { approval: { action: 'accept', content: { decision: 'maybe' } } },
      }),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('malformed') });
    await expect(
      tasksRequest(onB, 'tasks/update', { taskId: approve.taskId, inputResponses: { approval: 'yes' } }),
    ).rejects.toMatchObject({ code: -32602 });
    const readOnlyClient = keep(await modernHttpClient(readOnlyProc.url, { tasks: true }));
    await expect(
      tasksRequest(readOnlyClient, 'tasks/update', {
        taskId: approve.taskId,
        inputResponses: { approval: { action: 'accept', content: { decision: 'approve' } } },
      }),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('read-only') });
    await expect(
      tasksRequest(readOnlyClient, 'tasks/cancel', { taskId: cancel.taskId }),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('read-only') });
    expect((await stack.sagas.getState(approve.taskId)).state).toBe('awaiting_approval');

    // Without the extension declared, the task methods are refused with -32021 and the start answers plainly.
    const plain = keep(await modernHttpClient(b.url));
    await expect(tasksRequest(plain, 'tasks/get', { taskId: approve.taskId })).rejects.toMatchObject({
      code: -32021,
    });
    await expect(tasksRequest(onB, 'tasks/get', { taskId: 'pipeline-NOPE-0' })).rejects.toMatchObject({
      code: -32602,
    });

    const ack = await tasksRequest(onB, 'tasks/update', {
      taskId: approve.taskId,
      inputResponses: { approval: { action: 'accept', content: { decision: 'approve', approver: 'me' } } },
    });
    expect(ack).not.toHaveProperty('status');
    const done = await pollUntil(
      () => get(approve.taskId),
      (t) => t.status !== 'input_required' && t.status !== 'working',
      60_000,
    );
    expect(done.status).toBe('completed');
    expect((done.result?.structuredContent as unknown as SagaStateView).state).toBe('completed');
    // A second answer: the task no longer waits for input.
    await expect(
      tasksRequest(onB, 'tasks/update', {
        taskId: approve.taskId,
        inputResponses: { approval: { action: 'accept', content: { decision: 'approve' } } },
      }),
    ).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('not waiting for input') });

    await pollUntil(
      () => get(cancel.taskId),
      (t: ExtensionTask) => t.status === 'input_required',
      60_000,
    );
    expect(await tasksRequest(onB, 'tasks/cancel', { taskId: cancel.taskId })).not.toHaveProperty('status');
    const rolledBack = await pollUntil(
      () => stack.sagas.getState(cancel.taskId),
      (s) => s.state === 'rolled_back',
    );
    expect(rolledBack.error).toMatchObject({ reason: 'cancelled' });
    expect((await get(cancel.taskId)).status).toBe('cancelled');
  });

  it('a plain 2026-07-28 start with an approval gate answers input_required, the retry answers it, a tampered requestState is refused', async () => {
    const proc = await spawn();
    const args = { idea: 'ask me in the call', symbol: 'MEANREV', approval: 'before_backtest' };
    const asClient = { elicitation: true };
    const first = await modernRpc(
      proc.url,
      'tools/call',
      { name: 'start_pipeline', arguments: args },
      asClient,
    );
    if (first.result?.resultType !== 'input_required') throw new Error(JSON.stringify(first));
    const asked = first.result as unknown as {
      resultType: string;
      requestState: string;
      inputRequests: Record<string, { method: string; params: { message: string } }>;
    };
    expect(asked.resultType).toBe('input_required');
    expect(asked.inputRequests.approval?.method).toBe('elicitation/create');
    const sagaId = /Saga (\S+) /.exec(asked.inputRequests.approval!.params.message)![1]!;
    expect((await stack.sagas.getState(sagaId)).state).toBe('awaiting_approval');

    const retry = (requestState: string, inputResponses: Record<string, unknown>) =>
      modernRpc(
        proc.url,
        'tools/call',
        { name: 'start_pipeline', arguments: args, requestState, inputResponses },
        asClient,
      );
    const approve = { approval: { action: 'accept', content: { decision: 'approve', approver: 'mrtr' } } };
    // The state names another saga, its MAC left as it was: refused before anything runs.
    const [version, body, mac] = asked.requestState.split('.');
    const sealed = JSON.parse(Buffer.from(body!, 'base64url').toString()) as { p: { sagaId: string } };
    sealed.p.sagaId = 'pipeline-OTHER-0';
    const tampered = `${version}.${Buffer.from(JSON.stringify(sealed)).toString('base64url')}.${mac}`;
    expect((await retry(tampered, approve)).error).toMatchObject({ code: -32602 });
    expect((await retry(`${asked.requestState}x`, approve)).error).toMatchObject({ code: -32602 });
    const malformed = await retry(asked.requestState, {
      approval: { action: 'accept', content: { decision: 'perhaps' } },
    });
    expect(malformed.result).toMatchObject({ isError: true });
    expect((await stack.sagas.getState(sagaId)).state).toBe('awaiting_approval');

    const answered = await retry(asked.requestState, approve);
    expect(answered.result).toMatchObject({ resultType: 'complete', structuredContent: { sagaId } });
    await pollUntil(
      () => stack.sagas.getState(sagaId),
      (s) => s.state === 'completed',
    );

    // The SDK v2 client fulfils the round itself through its elicitation handler, inside one callTool.
    const client = keep(
      new ModernClient(
        { name: 'mrtr-test', version: '1.0.0' },
        { versionNegotiation: { mode: { pin: MODERN } }, capabilities: { elicitation: { form: {} } } },
      ),
    );
    const questions: string[] = [];
    client.setRequestHandler('elicitation/create', async (request) => {
      questions.push(String(request.params.message));
      return { action: 'accept', content: { decision: 'approve', approver: 'v2-client' } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(proc.url)));
    const done = await client.callTool({ name: 'start_pipeline', arguments: { ...args, wait: true } });
    expect(questions).toHaveLength(1);
    expect((done.structuredContent as unknown as SagaStateView).state).toBe('completed');
  });

  it('subscriptions/listen streams get resources/updated for the saga:// URIs they name', async () => {
    const proc = await spawn();
    const { sagaId } = await stack.sagas.startPipeline({
      idea: 'listen to me',
      symbol: 'DEMO',
      approval: 'before_backtest',
    });
    await pollUntil(
      () => stack.sagas.getState(sagaId),
      (s) => s.state === 'awaiting_approval',
    );
    const uri = `saga://${encodeURIComponent(sagaId)}`;
    const stream = await openListenStream(proc.url, { resourceSubscriptions: [uri] });
    try {
      await stream.next((m) => m.method === 'notifications/subscriptions/acknowledged');
      const updated = stream.next(
        (m) => m.method === 'notifications/resources/updated' && m.params?.uri === uri,
      );
      await stack.sagas.approve(sagaId, { approver: 'listener' });
      // A deadline, not a pause: without the feed no update ever comes.
      const deadline = new Promise((_, reject) => {
        const timer = setTimeout(() => reject(new Error('no resources/updated within 30 s')), 30_000);
        void updated.finally(() => clearTimeout(timer));
      });
      expect(await Promise.race([updated, deadline])).toMatchObject({ params: { uri } });
    } finally {
      stream.close();
    }
  });
});

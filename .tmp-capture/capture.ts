import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateTaskResultSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const url = process.argv[2]!;
const log: string[] = [];
const note = (s: string) => log.push(`\n### ${s}\n`);
(async () => {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: 'capture', version: '1.0.0' });
  const send = transport.send.bind(transport);
  transport.send = async (m: JSONRPCMessage, o?: unknown) => {
    log.push('--> ' + JSON.stringify(m));
    return send(m, o as never);
  };
  await client.connect(transport);
  const onmessage = transport.onmessage!;
  transport.onmessage = (m: JSONRPCMessage, extra?: unknown) => {
    log.push('<-- ' + JSON.stringify(m));
    onmessage(m, extra as never);
  };
  log.length = 0;
  note('task-augmented start_pipeline');
  const created = await client.request(
    { method: 'tools/call', params: { name: 'start_pipeline', arguments: { idea: 'trend following with moving averages', symbol: 'DEMO' } } },
    CreateTaskResultSchema,
    { task: { ttl: 3600000 } },
  );
  const taskId = created.task.taskId;
  note('tasks/get');
  await client.experimental.tasks.getTask(taskId);
  note('tasks/result with a progress token');
  await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema, { onprogress: () => undefined });
  note('tasks/get after');
  await client.experimental.tasks.getTask(taskId);

  note('subscription');
  const updates: string[] = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updates.push(n.params.uri); });
  const gated = await client.callTool({ name: 'start_pipeline', arguments: { idea: 'trend following', symbol: 'TREND', approval: 'before_backtest' } });
  const sagaId = (gated.structuredContent as { sagaId: string }).sagaId;
  for (;;) {
    const s = await client.callTool({ name: 'get_saga', arguments: { sagaId } });
    if ((s.structuredContent as { state: string }).state === 'awaiting_approval') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  note('subscribe');
  await client.subscribeResource({ uri: `saga://${sagaId}` });
  note('approve');
  await client.callTool({ name: 'approve_saga', arguments: { sagaId, approver: 'me' } });
  while (updates.length < 2) await new Promise((r) => setTimeout(r, 100));
  note('read');
  await client.readResource({ uri: `saga://${sagaId}` });
  note('unsubscribe');
  await client.unsubscribeResource({ uri: `saga://${sagaId}` });
  note('cancel as a task');
  const c = await client.request(
    { method: 'tools/call', params: { name: 'start_pipeline', arguments: { idea: 'cancel me', symbol: 'MEANREV', approval: 'before_backtest' } } },
    CreateTaskResultSchema,
    { task: {} },
  );
  for (;;) {
    const t = await client.experimental.tasks.getTask(c.task.taskId);
    if (t.statusMessage?.includes('awaiting_approval')) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await client.experimental.tasks.cancelTask(c.task.taskId);
  for (;;) {
    const s = await client.callTool({ name: 'get_saga', arguments: { sagaId: c.task.taskId } });
    if ((s.structuredContent as { state: string }).state === 'rolled_back') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await client.experimental.tasks.getTask(c.task.taskId);
  await client.close();
  console.log(log.join('\n'));
})();

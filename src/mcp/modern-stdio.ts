/**
 * stdio for a 2026-07-28 client: the SDK v2 entry `serveStdio` (strict, `legacy: 'reject'`) over the lines stdio.ts
 * has already screened, with the first one (the opening that chose this era) replayed. As on the session leg, the end
 * of input first lets the requests already read be answered (`printf '…' | sagalane mcp` answers all it was given):
 * the SDK's transport would abort them when its input ends, so it sees the end only once they are answered.
 *
 * `subscriptions/listen`: the SDK's stdio entry acknowledges the stream and routes the connection's instance's
 * `resources/updated` onto the streams that asked for the URI, but nothing here would send one. So each listen
 * request seen on the way in starts the saga follower for its `saga://` URIs (saga-listen.ts), which sends
 * `resources/updated` through that instance; its `taskIds` (tasks extension) get `notifications/tasks`, written
 * after the acknowledgement, which is given the agreed `taskIds` on its way out. A `notifications/cancelled` naming
 * the listen request, or the end of the connection, stops the following.
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import { isLegacyRequest, McpServer, type McpServerFactory, type Server } from '@modelcontextprotocol/server';
import { serveStdio, StdioServerTransport } from '@modelcontextprotocol/server/stdio';
import {
  declaresTasksExtension,
  MISSING_REQUIRED_CLIENT_CAPABILITY,
  TASKS_EXTENSION,
  TASKS_EXTENSION_REQUIRED,
} from './modern-tasks';
import type { ListenFeed } from './saga-listen';
import { requestedTaskIds, TASK_STATUS_NOTIFICATION } from './task-listen';

type Id = string | number;

/** Whether the first message opens a 2026-07-28 conversation, as the SDK's own HTTP classifier decides it. */
export async function opensModernEra(firstLine: string): Promise<boolean> {
  let body: unknown;
  try {
    body = JSON.parse(firstLine);
  } catch {
    return false;
  }
  const probe = new Request('http://stdio.invalid/mcp', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: firstLine,
  });
  return !(await isLegacyRequest(probe, body));
}

export interface ModernStdioOptions {
  /** Screened input: whole JSON-RPC lines, the first already read into `first`. */
  lines: Readable;
  first: string;
  output: NodeJS.WritableStream;
  until?: Promise<unknown>;
  drainTimeoutMs: number;
  /** Feeds `subscriptions/listen` streams (saga-listen.ts); without it they are acknowledged and stay quiet. */
  onListen?: ListenFeed;
}

const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';

interface Listener {
  stop: AbortController;
  taskIds: string[];
  acknowledged: boolean;
  held: string[];
}

interface Message {
  id?: Id;
  method?: unknown;
  params?: {
    requestId?: Id;
    notifications?: { resourceSubscriptions?: unknown; taskIds?: unknown };
    _meta?: Record<string, unknown>;
  };
}

export async function serveModernOverStdio(
  factory: McpServerFactory,
  options: ModernStdioOptions,
): Promise<void> {
  const gate = new PassThrough();
  const inFlight = new Set<Id>();
  let inputEnded = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const finishIfDrained = () => {
    if (inputEnded && inFlight.size === 0) finish();
  };
  const eachMessage = (chunk: string, seen: (m: Message, line: string) => void) => {
    for (const line of chunk.split('\n')) {
      if (!line.trim()) continue;
      try {
        seen(JSON.parse(line) as Message, line);
      } catch {
        // not JSON: the screen has answered it already
      }
    }
  };
  const listeners = new Map<Id, Listener>();
  const writeLine = (message: unknown) => options.output.write(JSON.stringify(message) + '\n');
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      let text = chunk.toString('utf8');
      let flush: Listener | undefined;
      eachMessage(text, (m, line) => {
        if (m.method === undefined && m.id !== undefined) {
          inFlight.delete(m.id);
          // An answer to a listen request ends its stream (refused, or closed by the server): stop following.
          listeners.get(m.id)?.stop.abort();
          listeners.delete(m.id);
        }
        const listener = acknowledgedListener(m);
        if (!listener) return;
        // The SDK's acknowledgement knows no taskIds: name the ones this stream gets.
        if (listener.taskIds.length) {
          const notifications = m.params!.notifications!;
          notifications.taskIds = listener.taskIds;
          text = text.replace(line, JSON.stringify(m));
        }
        listener.acknowledged = true;
        flush = listener;
      });
      options.output.write(text, (err) => {
        callback(err ?? undefined);
      });
      for (const held of flush?.held.splice(0) ?? []) options.output.write(held);
      finishIfDrained();
    },
  });
  const acknowledgedListener = (m: Message): Listener | undefined => {
    if (m.method !== 'notifications/subscriptions/acknowledged') return undefined;
    const id = m.params?._meta?.[SUBSCRIPTION_ID] as Id | undefined;
    return id === undefined ? undefined : listeners.get(id);
  };
  // The connection's one (pinned) 2026-07-28 instance: its resources/updated reach the listen streams.
  let instance: Server | undefined;
  const pinned: McpServerFactory = async (ctx) => {
    const product = await factory(ctx);
    instance = product instanceof McpServer ? product.server : product;
    return product;
  };
  const handle = serveStdio(pinned, { legacy: 'reject', transport: new StdioServerTransport(gate, output) });
  /** A listen request: followed here; refused here when it asks for tasks without the extension. */
  const listen = (m: Message): 'refused' | Message => {
    const taskIds = requestedTaskIds(m.params?.notifications);
    if (taskIds.length && !declaresTasksExtension(m.params?._meta)) {
      writeLine({
        jsonrpc: '2.0',
        id: m.id,
        error: {
          code: MISSING_REQUIRED_CLIENT_CAPABILITY,
          message: `Declare the ${TASKS_EXTENSION} extension in the request's client capabilities to listen to tasks`,
          data: TASKS_EXTENSION_REQUIRED,
        },
      });
      return 'refused';
    }
    const listener: Listener = { stop: new AbortController(), taskIds, acknowledged: false, held: [] };
    listeners.get(m.id!)?.stop.abort();
    listeners.set(m.id!, listener);
    void options.onListen?.(
      m.params?.notifications,
      listener.stop.signal,
      {
        resourceUpdated: (uri) => void instance?.sendResourceUpdated({ uri }).catch(() => undefined),
        task: (detailed) => {
          const line =
            JSON.stringify({
              jsonrpc: '2.0',
              method: TASK_STATUS_NOTIFICATION,
              params: { ...detailed, _meta: { [SUBSCRIPTION_ID]: m.id } },
            }) + '\n';
          if (listener.acknowledged) options.output.write(line);
          else listener.held.push(line);
        },
      },
      taskIds,
    );
    const notifications = { ...m.params?.notifications };
    delete notifications.taskIds;
    return { ...m, params: { ...m.params, notifications } };
  };
  const take = (chunk: string) => {
    const lines: string[] = [];
    eachMessage(chunk, (m, line) => {
      if (m.method === 'subscriptions/listen' && m.id !== undefined && options.onListen) {
        // A listen stream is answered only when it ends: it does not hold the drain at the end of input.
        const passed = listen(m);
        if (passed !== 'refused') lines.push(JSON.stringify(passed));
        return;
      }
      if (m.method === 'notifications/cancelled' && m.params?.requestId !== undefined) {
        listeners.get(m.params.requestId)?.stop.abort();
        listeners.delete(m.params.requestId);
      }
      if (typeof m.method === 'string' && m.id !== undefined) inFlight.add(m.id);
      lines.push(line);
    });
    if (lines.length) gate.write(lines.join('\n') + '\n');
  };
  take(options.first);
  options.lines.on('data', (chunk: Buffer | string) => take(chunk.toString()));
  let drainTimer: NodeJS.Timeout | undefined;
  const drainExpired = new Promise<void>((resolve) => {
    options.lines.once('end', () => {
      inputEnded = true;
      drainTimer = setTimeout(resolve, options.drainTimeoutMs);
      finishIfDrained();
    });
  });
  await Promise.race([finished, drainExpired, ...(options.until ? [options.until] : [])]);
  clearTimeout(drainTimer);
  for (const listener of listeners.values()) listener.stop.abort();
  await handle.close().catch(() => undefined);
}

/**
 * The tasks extension's part of a `subscriptions/listen` stream over HTTP. SDK v2 owns the stream (acknowledgement,
 * subscription id, keep-alives, resource events) but knows only the core filter: it drops `notifications.taskIds`,
 * leaves it out of the acknowledgement and closes a stream that asked for nothing else at once. So the SDK is given
 * the request without `taskIds` and with one resource URI no event ever names (which keeps the stream open), and its
 * frames pass through here on their way out: the acknowledgement gets `taskIds` (the ones agreed) instead of that
 * URI, and `notifications/tasks` frames are added between the SDK's, whole frames only, after the acknowledgement.
 */
import type http from 'node:http';
import { TASK_STATUS_NOTIFICATION } from './task-listen';

export interface ListenMessage {
  id?: string | number;
  method?: unknown;
  params?: {
    notifications?: { resourceSubscriptions?: unknown; taskIds?: unknown };
    _meta?: Record<string, unknown>;
  };
}

/** A URI no saga has: it only keeps the SDK's stream open for a listener of tasks alone. */
const HOLD_OPEN_URI = 'sagalane-internal:listen/tasks';
const SUBSCRIPTION_ID = 'io.modelcontextprotocol/subscriptionId';
const ACKNOWLEDGED = 'notifications/subscriptions/acknowledged';

export interface ListenSplice {
  /** The request as the SDK gets it. */
  sdkBody: unknown;
  /** A chunk of the SDK's event stream, written on whole frames. */
  fromSdk(chunk: Uint8Array): void;
  /** Sends a `notifications/tasks` on the stream (held until the acknowledgement is out). */
  task(detailed: Record<string, unknown>): void;
}

export function listenSplice(
  message: ListenMessage,
  taskIds: string[],
  res: http.ServerResponse,
): ListenSplice {
  const decoder = new TextDecoder();
  let buffer = '';
  let acknowledged = false;
  const held: string[] = [];
  const write = (frame: string) => {
    if (!res.writableEnded) res.write(frame);
  };
  const notifications = { ...message.params?.notifications };
  delete notifications.taskIds;
  if (taskIds.length)
    notifications.resourceSubscriptions = [
      ...(Array.isArray(notifications.resourceSubscriptions) ? notifications.resourceSubscriptions : []),
      HOLD_OPEN_URI,
    ];
  const sdkBody = { ...message, params: { ...message.params, notifications } };

  const acknowledgement = (frame: string): string => {
    const data = /^data: (.*)$/m.exec(frame)?.[1];
    if (!data) return frame;
    const ack = JSON.parse(data) as { params?: { notifications?: Record<string, unknown> } };
    const honored = ack.params?.notifications;
    if (!honored) return frame;
    if (Array.isArray(honored.resourceSubscriptions)) {
      const uris = (honored.resourceSubscriptions as unknown[]).filter((u) => u !== HOLD_OPEN_URI);
      if (uris.length) honored.resourceSubscriptions = uris;
      else delete honored.resourceSubscriptions;
    }
    if (taskIds.length) honored.taskIds = taskIds;
    return frame.replace(/^data: .*$/m, () => `data: ${JSON.stringify(ack)}`);
  };

  return {
    sdkBody,
    fromSdk(chunk) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        let frame = buffer.slice(0, end + 2);
        buffer = buffer.slice(end + 2);
        if (!acknowledged && frame.includes(ACKNOWLEDGED)) {
          frame = acknowledgement(frame);
          write(frame);
          acknowledged = true;
          for (const h of held.splice(0)) write(h);
          continue;
        }
        write(frame);
      }
    },
    task(detailed) {
      const frame = `event: message\ndata: ${JSON.stringify({
        jsonrpc: '2.0',
        method: TASK_STATUS_NOTIFICATION,
        params: { ...detailed, _meta: { [SUBSCRIPTION_ID]: message.id } },
      })}\n\n`;
      if (acknowledged) write(frame);
      else held.push(frame);
    },
  };
}

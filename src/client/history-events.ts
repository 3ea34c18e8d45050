/**
 * Turns raw Temporal history events into short summaries a person or a model can read: the event's type and time,
 * the few fields that say what happened (activity type, failure message, update name, the saga state upserted), and,
 * only when asked, the decoded payloads cut to a size bound so one big result cannot flood a reply.
 */
import { tsToMs } from '@temporalio/common/lib/time';
import type { Payload } from '@temporalio/common';

export interface HistoryEventSummary {
  eventId: number;
  /** ISO time of the event. */
  time: string;
  /** E.g. `WorkflowExecutionStarted`, `ActivityTaskScheduled`, `WorkflowExecutionUpdateAccepted`. */
  type: string;
  activityType?: string;
  workflowType?: string;
  /** Names an update or signal. */
  name?: string;
  /** The failure message of a failed or timed-out event (root cause last). */
  failure?: string;
  /** Search attributes upserted by the event, e.g. `{ SagaState: 'codegen', SagaStep: 'codegen' }`. */
  searchAttributes?: Record<string, unknown>;
  /** The event this one relates to (e.g. the scheduling of a completed activity). */
  scheduledEventId?: number;
  /** Decoded inputs / results / details; present only with `includePayloads`. */
  payloads?: Record<string, unknown>;
}

export interface SummarizeOptions {
  includePayloads: boolean;
  maxPayloadChars: number;
  decode(payload: Payload): unknown;
}

/** A decoded payload that was longer than the bound. */
export interface CutPayload {
  truncated: true;
  totalChars: number;
  preview: string;
}

type Attrs = Record<string, unknown>;
type RawEvent = {
  eventId?: unknown;
  eventTime?: unknown;
  [key: string]: unknown;
};

const PAYLOAD_FIELDS = ['input', 'result', 'details', 'lastHeartbeatDetails', 'lastCompletionResult'];

export function summarizeHistoryEvent(event: object, options: SummarizeOptions): HistoryEventSummary {
  const raw = event as RawEvent;
  const [attrKey, attrs] = findAttributes(raw);
  const summary: HistoryEventSummary = {
    eventId: Number(String(raw.eventId ?? 0)),
    time: raw.eventTime ? new Date(tsToMs(raw.eventTime as never)).toISOString() : '',
    type: attrKey ? capitalize(attrKey.replace(/EventAttributes$/, '')) : 'Unknown',
  };
  if (!attrs) return summary;
  const activityType = nameOf(attrs.activityType);
  if (activityType) summary.activityType = activityType;
  const workflowType = nameOf(attrs.workflowType);
  if (workflowType) summary.workflowType = workflowType;
  const name =
    (typeof attrs.signalName === 'string' && attrs.signalName) ||
    nameOf((attrs.acceptedRequest as Attrs | undefined)?.input) ||
    undefined;
  if (name) summary.name = name;
  const failure = failureText(attrs.failure ?? (attrs.outcome as Attrs | undefined)?.failure);
  if (failure) summary.failure = failure;
  const scheduled = attrs.scheduledEventId;
  if (scheduled !== undefined && scheduled !== null && String(scheduled) !== '0')
    summary.scheduledEventId = Number(String(scheduled));
  const indexed = (attrs.searchAttributes as { indexedFields?: Record<string, Payload> } | undefined)
    ?.indexedFields;
  if (indexed && Object.keys(indexed).length > 0) {
    summary.searchAttributes = Object.fromEntries(
      Object.entries(indexed).map(([k, p]) => [k, unwrapSingle(safeDecode(p, options.decode))]),
    );
  }
  if (options.includePayloads) {
    const payloads: Record<string, unknown> = {};
    for (const field of PAYLOAD_FIELDS) addPayloads(payloads, field, attrs[field], options);
    const request = attrs.acceptedRequest as Attrs | undefined;
    addPayloads(payloads, 'args', (request?.input as Attrs | undefined)?.args, options);
    addPayloads(payloads, 'result', (attrs.outcome as Attrs | undefined)?.success, options);
    if (Object.keys(payloads).length > 0) summary.payloads = payloads;
  }
  return summary;
}

/** JSON of `value` when it fits in `maxChars`, else a marked preview of its first `maxChars` characters. */
export function cutToBound(value: unknown, maxChars: number): unknown {
  const json = JSON.stringify(value) ?? 'undefined';
  if (json.length <= maxChars) return value;
  const cut: CutPayload = { truncated: true, totalChars: json.length, preview: json.slice(0, maxChars) };
  return cut;
}

function findAttributes(raw: RawEvent): [string | undefined, Attrs | undefined] {
  for (const [key, value] of Object.entries(raw)) {
    if (key.endsWith('EventAttributes') && value && typeof value === 'object') return [key, value as Attrs];
  }
  return [undefined, undefined];
}

function addPayloads(out: Record<string, unknown>, field: string, value: unknown, options: SummarizeOptions) {
  const list = (value as { payloads?: Payload[] } | undefined)?.payloads;
  if (!list || list.length === 0) return;
  const decoded = list.map((p) => safeDecode(p, options.decode));
  out[field] = cutToBound(decoded.length === 1 ? decoded[0] : decoded, options.maxPayloadChars);
}

function safeDecode(payload: Payload, decode: (p: Payload) => unknown): unknown {
  try {
    return decode(payload);
  } catch (err) {
    return `<undecodable payload: ${(err as Error).message}>`;
  }
}

function unwrapSingle(v: unknown): unknown {
  return Array.isArray(v) && v.length === 1 ? v[0] : v;
}

function nameOf(v: unknown): string | undefined {
  const name = (v as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' && name ? name : undefined;
}

function failureText(failure: unknown): string | undefined {
  const parts: string[] = [];
  let current = failure as { message?: string; cause?: unknown } | null | undefined;
  while (current && parts.length < 5) {
    if (current.message) parts.push(current.message);
    current = current.cause as typeof current;
  }
  return parts.length ? parts.join(' <- ') : undefined;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

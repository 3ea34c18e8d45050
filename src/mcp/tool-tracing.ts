/**
 * Tool calls as spans: each `tools/call` continues the caller's trace (`_meta.traceparent`, both revisions) or starts
 * one, so a saga a tool starts is a child of the call (Temporal's client interceptor takes the active context into
 * the workflow's headers) and the whole path from the MCP client to the agent is one trace.
 *
 * A decorator over the `ToolRegistry` both protocol revisions register through, so every tool of both is traced the
 * same way. Off (no tracing), it hands the registry back untouched.
 *
 * A task-capable tool runs in two parts, `start` then (for a plain call) `answer`, called one after the other for the
 * same request: `answer` runs as a child of the call's span, found again by the request's `ToolCall` object.
 */
import { SpanKind, context, trace, type Context, type Span } from '@opentelemetry/api';
import { contextFromCarrier, inSpan, tracingEnabled } from '../observability/tracing';
import type { ToolCall, ToolRegistry } from './tool-registry';

/** Span attributes, after OpenTelemetry's semantic conventions for MCP. */
const METHOD = 'mcp.method.name';
const TOOL = 'gen_ai.tool.name';
const PROTOCOL = 'mcp.protocol.version';

export function tracedToolRegistry(inner: ToolRegistry, protocolVersion: string): ToolRegistry {
  if (!tracingEnabled()) return inner;
  const callSpans = new WeakMap<ToolCall, Context>();
  const callSpan = <T>(name: string, call: ToolCall, fn: (span: Span) => Promise<T>) =>
    inSpan(
      `tools/call ${name}`,
      {
        kind: SpanKind.SERVER,
        // A malformed traceparent is ignored: the call starts a new trace (never an error).
        parent: contextFromCarrier(call._meta, context.active()),
        attributes: { [METHOD]: 'tools/call', [TOOL]: name, [PROTOCOL]: protocolVersion },
      },
      (span) => {
        callSpans.set(call, trace.setSpan(context.active(), span));
        return fn(span);
      },
    );
  return {
    tool(name, config, run) {
      inner.tool(name, config, (args, call) => callSpan(name, call, () => run(args, call)));
    },
    taskTool(name, config, handlers) {
      inner.taskTool(name, config, {
        ...handlers,
        start: (args, call) =>
          callSpan(name, call, async (span) => {
            const work = await handlers.start(args, call);
            // The work the call started, so the call's span leads to it (its own spans are its children).
            span.setAttribute(work.kind === 'saga' ? 'saga.id' : 'lane.task.id', work.id);
            return work;
          }),
        answer: (args, work, call) =>
          inSpan(
            `tools/call ${name} answer`,
            { parent: callSpans.get(call) ?? contextFromCarrier(call._meta, context.active()) },
            () => handlers.answer(args, work, call),
          ),
      });
    },
  };
}

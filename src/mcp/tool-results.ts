/**
 * How tool bodies become MCP results: a value becomes JSON text plus the same object as `structuredContent`; a
 * failure never throws out of a handler but becomes an `isError` result whose text says what was wrong and what to
 * do next, so a model can correct itself and the server keeps serving.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SagaClientError } from '../client/errors';
import { isBackendDown } from '../client/front-door';
import { LaneError } from '../lane/errors';

/** A successful tool result: the value as text and as structured content. */
export function okResult(value: object): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
    structuredContent: value as Record<string, unknown>,
  };
}

/** A failed tool result; `value` (e.g. the saga's final state) rides along as structured content. */
export function errorResult(text: string, value?: object): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text }],
    ...(value ? { structuredContent: value as Record<string, unknown> } : {}),
  };
}

/** Runs a tool body: its value as an `okResult`, or an `isError` result a model can act on. */
/** How a tool's failure is put into words and reported (the server's log notifications). */
export interface FailureHandling {
  describe(err: unknown): string;
  report(description: string): void;
}

export async function runTool(
  body: () => Promise<object>,
  handling?: FailureHandling,
): Promise<CallToolResult> {
  return runToolResult(async () => okResult(await body()), handling);
}

/** The same for a body that builds its own result (e.g. an `isError` one with the saga's final state). */
export async function runToolResult(
  body: () => Promise<CallToolResult>,
  handling?: FailureHandling,
): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    const description = handling ? handling.describe(err) : describeFailure(err);
    handling?.report(description);
    return errorResult(description);
  }
}

/** Where the backends are, for errors that do not say (a raw gRPC UNAVAILABLE from a client that was connected). */
export interface BackendAddresses {
  temporalAddress?: string;
  redisUrl?: string;
}

/**
 * What went wrong, in words that tell the caller what to do next. A backend that is down is named with its address
 * and how to start it (the front door's BackendUnavailableError); the server keeps running and the next call retries.
 */
export function describeFailure(err: unknown, known: BackendAddresses = {}): string {
  const down = isBackendDown(err, known);
  if (down) return `${down.message} The MCP server keeps running: retry the call once it is back.`;
  const message = err instanceof Error ? err.message : String(err);
  // sagalane's named errors already say what was wrong and what to do (including the lane's backlog limit).
  if (err instanceof SagaClientError || err instanceof LaneError || isNamedError(err)) return message;
  return `${message}. Check the arguments against the tool's input schema and retry.`;
}

/** An error class of sagalane's own (a subclass with its own name), whose message is written for the user. */
function isNamedError(err: unknown): err is Error {
  return (
    err instanceof Error &&
    err.constructor !== Error &&
    /Error$/.test(err.name) &&
    !['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError'].includes(err.name) &&
    !/^(Grpc|Service|Connection|Workflow|Activity)/.test(err.name)
  );
}

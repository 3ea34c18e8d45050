/**
 * How tool bodies become MCP results: a value becomes JSON text plus the same object as `structuredContent`; a
 * failure never throws out of a handler but becomes an `isError` result whose text says what was wrong and what to
 * do next, so a model can correct itself and the server keeps serving.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SagaClientError, TemporalUnavailableError } from '../client/errors';
import { LaneError, RedisUnavailableError } from '../lane/errors';

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
export async function runTool(
  body: () => Promise<object>,
  onFailure?: (description: string) => void,
): Promise<CallToolResult> {
  return runToolResult(async () => okResult(await body()), onFailure);
}

/** The same for a body that builds its own result (e.g. an `isError` one with the saga's final state). */
export async function runToolResult(
  body: () => Promise<CallToolResult>,
  onFailure?: (description: string) => void,
): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    const description = describeFailure(err);
    onFailure?.(description);
    return errorResult(description);
  }
}

/** A backend that did not answer: which one, where, and how to start it. */
export interface BackendDown {
  backend: 'temporal' | 'redis';
  address: string;
  hint: string;
}

/**
 * Recognises "a backend is down" errors. The lazy front door's `BackendUnavailableError` carries backend, address
 * and hint; the clients' own `TemporalUnavailableError` / `RedisUnavailableError` carry the address.
 */
export function backendDown(err: unknown): BackendDown | undefined {
  const e = err as { name?: string; backend?: unknown; address?: unknown; hint?: unknown } | undefined;
  if (e?.name === 'BackendUnavailableError' && (e.backend === 'temporal' || e.backend === 'redis'))
    return { backend: e.backend, address: String(e.address), hint: String(e.hint ?? '') };
  if (err instanceof TemporalUnavailableError)
    return { backend: 'temporal', address: err.address, hint: TEMPORAL_HINT };
  if (err instanceof RedisUnavailableError) return { backend: 'redis', address: err.url, hint: REDIS_HINT };
  return undefined;
}

const TEMPORAL_HINT =
  'start the local stack with `npx sagalane dev` (npm start) or point TEMPORAL_ADDRESS at a running server';
const REDIS_HINT = 'start Redis (`npx sagalane dev` runs one) or point REDIS_URL at a running server';

/** What went wrong, in words that tell the caller what to do next. */
export function describeFailure(err: unknown): string {
  const down = backendDown(err);
  if (down) {
    const name = down.backend === 'temporal' ? 'Temporal' : 'Redis';
    return (
      `${name} is unavailable at ${down.address}, so this tool cannot run now: ${down.hint}. ` +
      'The MCP server keeps running; retry the call once it is back.'
    );
  }
  const message = err instanceof Error ? err.message : String(err);
  // sagalane's named errors already say what was wrong and what to do (including the lane's backlog limit).
  if (err instanceof SagaClientError || err instanceof LaneError || isNamedError(err)) return message;
  if (/UNAVAILABLE|ECONNREFUSED|deadline/i.test(message))
    return (
      `Temporal could not be reached (${message}): ${TEMPORAL_HINT}, then retry. ` +
      'The MCP server keeps running.'
    );
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

/**
 * The MCP server on stdin/stdout (`sagalane mcp`). Serves until stdin ends (the client went away or a pipe was
 * drained), the transport closes, or SIGINT/SIGTERM arrives; on end of input it first lets the requests already
 * read finish and their replies go out, so `printf '…' | sagalane mcp` answers every request it was given.
 */
import { PassThrough } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface ServeStdioOptions {
  /** Resolves when the server should stop (e.g. a signal). */
  until?: Promise<unknown>;
  /** After stdin ends, how long in-flight requests may take to answer. @defaultValue 65000 */
  drainTimeoutMs?: number;
  /** @defaultValue process.stdin */
  input?: NodeJS.ReadableStream;
  /** @defaultValue process.stdout */
  output?: NodeJS.WritableStream;
}

type Id = string | number;

export async function serveMcpOverStdio(server: McpServer, options: ServeStdioOptions = {}): Promise<void> {
  const input = options.input ?? process.stdin;
  const gate = new PassThrough();
  const transport = new StdioServerTransport(
    gate,
    options.output as ConstructorParameters<typeof StdioServerTransport>[1],
  );
  const inFlight = new Set<Id>();
  let inputEnded = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const finishIfDrained = () => {
    if (inputEnded && inFlight.size === 0) finish();
  };

  await server.connect(transport);
  // Count requests in and replies out, to know when everything read has been answered. Input is let through only
  // now, so no message reaches the server before the counting is in place.
  const deliver = transport.onmessage;
  transport.onmessage = (message: JSONRPCMessage) => {
    if ('method' in message && 'id' in message) inFlight.add(message.id);
    deliver?.(message);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message: JSONRPCMessage) => {
    await send(message);
    if (!('method' in message) && 'id' in message && message.id !== undefined) {
      inFlight.delete(message.id as Id);
      finishIfDrained();
    }
  };
  const closed = new Promise<void>((resolve) => {
    const previous = transport.onclose;
    transport.onclose = () => {
      previous?.();
      resolve();
    };
  });
  let drainTimer: NodeJS.Timeout | undefined;
  const drainExpired = new Promise<void>((resolve) => {
    gate.once('end', () => {
      inputEnded = true;
      drainTimer = setTimeout(resolve, options.drainTimeoutMs ?? 65_000);
      finishIfDrained();
    });
  });
  input.pipe(gate);
  await Promise.race([finished, closed, drainExpired, ...(options.until ? [options.until] : [])]);
  clearTimeout(drainTimer);
  input.unpipe(gate);
  await server.close().catch(() => undefined);
}

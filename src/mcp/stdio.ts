/**
 * The MCP server on stdin/stdout (`sagalane mcp`). Serves until stdin ends (the client went away or a pipe was
 * drained), the transport closes, or SIGINT/SIGTERM arrives; on end of input it first lets the requests already
 * read finish and their replies go out, so `printf '…' | sagalane mcp` answers every request it was given.
 */
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

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
  const screen = rejectMalformedLines(options.output ?? process.stdout);
  input.pipe(screen).pipe(gate);
  await Promise.race([finished, closed, drainExpired, ...(options.until ? [options.until] : [])]);
  clearTimeout(drainTimer);
  input.unpipe(screen);
  await server.close().catch(() => undefined);
}

/**
 * The SDK's stdio transport drops a line it cannot parse without a word, so a client that sent one would wait
 * forever. This screen answers such lines the way the Streamable HTTP transport does (-32700 parse error, -32600
 * invalid request, with the request's id when it has one) and passes only valid JSON-RPC messages on.
 */
function rejectMalformedLines(output: NodeJS.WritableStream): Transform {
  let pending = '';
  const reply = (id: unknown, code: number, message: string) => {
    const validId = typeof id === 'string' || typeof id === 'number' ? id : null;
    output.write(JSON.stringify({ jsonrpc: '2.0', id: validId, error: { code, message } }) + '\n');
  };
  const screenLine = (line: string, push: (chunk: string) => void) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      return reply(
        null,
        -32700,
        `Parse error: ${(err as Error).message}. Send one JSON-RPC 2.0 message per line.`,
      );
    }
    if (!JSONRPCMessageSchema.safeParse(parsed).success) {
      const id = parsed && typeof parsed === 'object' ? (parsed as { id?: unknown }).id : undefined;
      return reply(id, -32600, 'Invalid Request: not a JSON-RPC 2.0 request, notification or response.');
    }
    push(line + '\n');
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      pending += chunk.toString('utf8');
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        screenLine(line, (l) => this.push(l));
      }
      callback();
    },
    flush(callback: TransformCallback) {
      screenLine(pending, (l) => this.push(l));
      pending = '';
      callback();
    },
  });
}

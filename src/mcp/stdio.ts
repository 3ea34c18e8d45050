/**
 * The MCP server on stdin/stdout (`sagalane mcp`), for both protocol eras: the first message decides (a 2026-07-28
 * request goes to modern-stdio.ts, an `initialize` to the SDK v1 session server given here). Serves until stdin ends (the client went away or a pipe was
 * drained), the transport closes, or SIGINT/SIGTERM arrives; on end of input it first lets the requests already
 * read finish and their replies go out, so `printf '…' | sagalane mcp` answers every request it was given.
 */
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { McpServer as ModernMcpServer } from '@modelcontextprotocol/server';
import { opensModernEra, serveModernOverStdio } from './modern-stdio';
import type { ListenFeed } from './saga-listen';
import { modernListenFeedOf, modernServerFactoryOf } from './server';

export interface ServeStdioOptions {
  /** Resolves when the server should stop (e.g. a signal). */
  until?: Promise<unknown>;
  /** After stdin ends, how long in-flight requests may take to answer. @defaultValue 65000 */
  drainTimeoutMs?: number;
  /** @defaultValue process.stdin */
  input?: NodeJS.ReadableStream;
  /** @defaultValue process.stdout */
  output?: NodeJS.WritableStream;
  /** Builds the 2026-07-28 server for a client that opens with a 2026-07-28 request. @defaultValue the twin createMcpServer made */
  modern?: () => ModernMcpServer;
  /** Feeds a 2026-07-28 client's `subscriptions/listen` streams. @defaultValue the one createMcpServer made */
  onListen?: ListenFeed;
}

type Id = string | number;

export async function serveMcpOverStdio(server: McpServer, options: ServeStdioOptions = {}): Promise<void> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const screen = rejectMalformedLines(output);
  input.pipe(screen);
  // The first message picks the era: a 2026-07-28 one is served statelessly by SDK v2, anything else (initialize)
  // by this SDK v1 session server.
  const first = await firstChunk(screen);
  const modern = options.modern ?? modernServerFactoryOf(server);
  if (first !== undefined && modern && (await opensModernEra(first.split('\n')[0]!))) {
    await server.close().catch(() => undefined);
    await serveModernOverStdio(modern, {
      lines: screen,
      first,
      output,
      until: options.until,
      drainTimeoutMs: options.drainTimeoutMs ?? 65_000,
      onListen: options.onListen ?? modernListenFeedOf(server),
    });
    input.unpipe(screen);
    return;
  }
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
  if (first !== undefined) gate.write(first);
  screen.pipe(gate);
  await Promise.race([finished, closed, drainExpired, ...(options.until ? [options.until] : [])]);
  clearTimeout(drainTimer);
  input.unpipe(screen);
  await server.close().catch(() => undefined);
}

/** The first lines that come through (whole lines), or undefined when the input ends before any. */
function firstChunk(lines: Readable): Promise<string | undefined> {
  return new Promise((resolve) => {
    const onReadable = () => {
      const chunk = lines.read() as Buffer | string | null;
      if (chunk === null) return;
      done();
      resolve(chunk.toString());
    };
    const onEnd = () => {
      done();
      resolve(undefined);
    };
    const done = () => {
      lines.off('readable', onReadable);
      lines.off('end', onEnd);
    };
    lines.on('readable', onReadable);
    lines.once('end', onEnd);
  });
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

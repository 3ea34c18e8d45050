/**
 * stdio for a 2026-07-28 client: the SDK v2 entry `serveStdio` (strict, `legacy: 'reject'`) over the lines stdio.ts
 * has already screened, with the first one (the opening that chose this era) replayed. As on the session leg, the end
 * of input first lets the requests already read be answered (`printf '…' | sagalane mcp` answers all it was given):
 * the SDK's transport would abort them when its input ends, so it sees the end only once they are answered.
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import { isLegacyRequest, type McpServerFactory } from '@modelcontextprotocol/server';
import { serveStdio, StdioServerTransport } from '@modelcontextprotocol/server/stdio';

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
  const eachMessage = (chunk: string, seen: (m: { id?: Id; method?: unknown }) => void) => {
    for (const line of chunk.split('\n')) {
      if (!line.trim()) continue;
      try {
        seen(JSON.parse(line) as { id?: Id; method?: unknown });
      } catch {
        // not JSON: the screen has answered it already
      }
    }
  };
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      options.output.write(chunk, (err) => callback(err ?? undefined));
      eachMessage(chunk.toString('utf8'), (m) => {
        if (m.method === undefined && m.id !== undefined) inFlight.delete(m.id);
      });
      finishIfDrained();
    },
  });
  const handle = serveStdio(factory, { legacy: 'reject', transport: new StdioServerTransport(gate, output) });
  const take = (chunk: string) => {
    eachMessage(chunk, (m) => {
      if (typeof m.method === 'string' && m.id !== undefined) inFlight.add(m.id);
    });
    gate.write(chunk);
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
  await handle.close().catch(() => undefined);
}

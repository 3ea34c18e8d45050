/**
 * Bad input does not take anything down: 1,000 malformed or random JSON-RPC messages to `sagalane mcp` over stdio
 * and over Streamable HTTP, and malformed entries written straight into an express-lane stream.
 * Invariants: every well-formed request gets exactly one reply with its id (an error), HTTP never answers 5xx or
 * drops a connection, stdout carries nothing but JSON-RPC, the server still serves a normal request afterwards;
 * malformed stream entries are dead-lettered while valid tasks around them succeed.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import type Redis from 'ioredis';
import { ExpressClient, ExpressWorker, LaneKeys, echoTaskType } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { temporalAddress, uniqueTaskQueue } from '../helpers/temporal';
import { badMessages, INITIALIZE, INITIALIZED, seededRandom } from './bad-input-kit';
import { figure, ROOT, waitFor } from './reliability-kit';

const MESSAGES = 1000;
const CLI = path.join(ROOT, 'src', 'cli', 'index.ts');

interface Reply {
  id?: unknown;
  result?: { tools?: unknown[] };
  error?: { code: number; message: string };
}

function mcpEnv(prefix: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    SAGALANE_TASK_QUEUE: uniqueTaskQueue('rel-bad-input'),
    SAGALANE_KEY_PREFIX: prefix,
    REDIS_URL: redisUrl(),
    SAGALANE_LOG_LEVEL: 'error',
    SAGALANE_METRICS_PORT: '0',
  };
}

function spawnCli(args: string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env, stdio: 'pipe' });
}

function exitOf(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** `ownConnection`: not from the keep-alive pool (a refused oversized body may leave its socket unusable). */
function post(
  url: string,
  body: string,
  headers: Record<string, string>,
  ownConnection = false,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        ...(ownConnection ? { agent: false } : {}),
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** JSON-RPC messages in a reply body: plain JSON, or the `data:` lines of an event stream. */
function repliesIn(body: string): Reply[] {
  const trimmed = body.trim();
  if (!trimmed) return [];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const parsed = JSON.parse(trimmed) as Reply | Reply[];
    return Array.isArray(parsed) ? parsed : [parsed];
  }
  return trimmed
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Reply);
}

describe('bad input', () => {
  let redis: Redis;
  const prefix = uniquePrefix('rel-bad-input');
  const children: ChildProcessWithoutNullStreams[] = [];

  beforeAll(() => {
    redis = redisClient();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(exitOf));
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('MCP over stdio: 1,000 bad messages, every request answered, still serving', async () => {
    const child = spawnCli(['mcp'], mcpEnv(prefix));
    children.push(child);
    const replies = new Map<unknown, Reply[]>();
    let notJson = 0;
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          const reply = JSON.parse(line) as Reply;
          replies.set(reply.id, [...(replies.get(reply.id) ?? []), reply]);
        } catch {
          notJson++;
        }
      }
    });
    const write = (text: string) =>
      new Promise<void>((resolve, reject) =>
        child.stdin.write(text + '\n', (err) => (err ? reject(err) : resolve())),
      );

    await write(JSON.stringify(INITIALIZE));
    await waitFor('the initialize reply', async () => (replies.has(0) ? true : undefined), 30_000).catch(
      (err) => {
        throw new Error(`${(err as Error).message}\nstderr: ${stderr}`);
      },
    );
    await write(JSON.stringify(INITIALIZED));
    const messages = badMessages(MESSAGES, 8, 1000);
    for (const m of messages) await write(m.text);
    const finalId = 999_999;
    await write(JSON.stringify({ jsonrpc: '2.0', id: finalId, method: 'tools/list' }));

    const owed = messages.filter((m) => m.expectReplyId !== undefined);
    await waitFor(
      'replies to every well-formed request',
      async () =>
        replies.has(finalId) && owed.every((m) => replies.has(m.expectReplyId)) ? true : undefined,
      60_000,
      100,
    ).catch(() => undefined);
    const unanswered = owed.filter((m) => !replies.has(m.expectReplyId)).map((m) => m.kind);
    const answeredTwice = owed.filter((m) => (replies.get(m.expectReplyId)?.length ?? 0) > 1).length;
    const optionalAnswered = [...replies.keys()].filter((id) => id === null || id === undefined).length;
    figure('mcp stdio bad input', {
      messages: messages.length,
      requests_owed_reply: owed.length,
      answered: owed.length - unanswered.length,
      other_replies: optionalAnswered,
      non_json_stdout_lines: notJson,
      alive: String(child.exitCode === null),
    });

    expect({ unanswered, finalAnswered: replies.has(finalId), alive: child.exitCode === null }).toEqual({
      unanswered: [],
      finalAnswered: true,
      alive: true,
    });
    expect(answeredTwice).toBe(0);
    expect(notJson).toBe(0);
    for (const m of owed)
      expect(
        replies.get(m.expectReplyId)![0]!.error ?? replies.get(m.expectReplyId)![0]!.result,
      ).toBeDefined();
    const final = replies.get(finalId)?.[0] ?? {};
    expect(final.error).toBeUndefined();
    expect(final.result?.tools?.length).toBeGreaterThan(0);
    expect(child.exitCode).toBeNull();
    // End of input: it answers what it read, then exits cleanly.
    child.stdin.end();
    expect(await exitOf(child)).toEqual({ code: 0, signal: null });
  });

  it('MCP over HTTP: 1,000 bad requests, never a 5xx or a dropped connection, still serving', async () => {
    const child = spawnCli(['mcp', '--http', '0'], mcpEnv(prefix));
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await waitFor(
      'the MCP HTTP endpoint to listen',
      async () => /MCP \(HTTP\): (http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(stderr)?.[1],
      30_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\nstderr: ${stderr}`);
    });
    const init = await post(url, JSON.stringify(INITIALIZE), {});
    expect(init.status).toBe(200);
    const sessionId = init.headers['mcp-session-id'] as string;
    expect(sessionId).toBeTruthy();
    const session = {
      'mcp-session-id': sessionId,
      'mcp-protocol-version': INITIALIZE.params.protocolVersion,
    };
    expect((await post(url, JSON.stringify(INITIALIZED), session)).status).toBeLessThan(300);

    const rnd = seededRandom(99);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let owed = 0;
    let answered = 0;
    let oversizedResets = 0;
    const messages = badMessages(MESSAGES, 9, 5000);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      // Mostly on the session; some without it, with a bogus one, as text/plain, or oversized.
      const variant = rnd();
      let headers: Record<string, string> = session;
      let body = m.text;
      let onSession = true;
      if (variant < 0.05) [headers, onSession] = [{}, false];
      else if (variant < 0.1) [headers, onSession] = [{ 'mcp-session-id': 'bogus-session' }, false];
      else if (variant < 0.13) [headers, onSession] = [{ ...session, 'content-type': 'text/plain' }, false];
      const oversized = !onSession ? false : variant < 0.135;
      if (oversized) [body, onSession] = [`{"x":"${'y'.repeat(2 * 1024 * 1024)}"}`, false];
      let res;
      try {
        res = await post(url, body, headers, oversized);
      } catch (err) {
        // Refusing a body over the limit may close the connection before the client has finished sending it.
        if (oversized && /ECONNRESET|EPIPE/.test((err as Error).message)) oversizedResets++;
        else failures.push(`${m.kind}: connection error ${(err as Error).message}`);
        continue;
      }
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) failures.push(`${m.kind}: HTTP ${res.status} ${res.body.slice(0, 200)}`);
      if (onSession && m.expectReplyId !== undefined) {
        owed++;
        let replies: Reply[] = [];
        try {
          replies = repliesIn(res.body);
        } catch {
          failures.push(`${m.kind}: unreadable reply ${res.body.slice(0, 200)}`);
        }
        if (replies.some((r) => r.id === m.expectReplyId)) answered++;
        else
          failures.push(
            `${m.kind}: no reply with id ${m.expectReplyId} (HTTP ${res.status} ${res.body.slice(0, 200)})`,
          );
      }
    }
    const final = await post(
      url,
      JSON.stringify({ jsonrpc: '2.0', id: 'final', method: 'tools/list' }),
      session,
    );
    const finalReply = repliesIn(final.body).find((r) => r.id === 'final');
    figure('mcp http bad input', {
      requests: messages.length,
      requests_owed_reply: owed,
      answered,
      statuses: [...statuses.entries()]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}x${n}`)
        .join(','),
      oversized_reset: oversizedResets,
      alive: String(child.exitCode === null),
    });

    expect(failures).toEqual([]);
    expect(answered).toBe(owed);
    expect(finalReply?.result?.tools?.length).toBeGreaterThan(0);
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect((await exitOf(child)).code).toBe(0);
  });

  it('malformed express-lane stream entries are dead-lettered; valid tasks around them succeed', async () => {
    const lanePrefix = `${prefix}:lane`;
    const client = new ExpressClient({ types: [echoTaskType], redisUrl: redisUrl(), keyPrefix: lanePrefix });
    const worker = new ExpressWorker({
      types: [echoTaskType],
      redisUrl: redisUrl(),
      keyPrefix: lanePrefix,
      autoscaleIntervalMs: 0,
      concurrency: { min: 8, max: 8 },
      logger: createLogger('silent'),
    });
    await worker.start();
    try {
      const stream = new LaneKeys(lanePrefix).stream('echo', 'express');
      const rnd = seededRandom(7);
      const junk = () =>
        Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)));
      const malformed: (string | Buffer)[][] = [
        ['junk', '1'],
        ['id', 'echo:no-attempt', 'payload', '{"message":"x"}'],
        [
          'id',
          'echo:bad-attempt',
          'attempt',
          'one',
          'max',
          '3',
          'timeout',
          '1000',
          'payload',
          '{"message":"x"}',
        ],
        ['id', 'echo:not-json', 'attempt', '1', 'max', '3', 'timeout', '1000', 'payload', 'not json {'],
        ['id', 'echo:bad-schema', 'attempt', '1', 'max', '3', 'timeout', '1000', 'payload', '{"message":5}'],
        ['id', 'not-a-task-id', 'attempt', '1', 'max', '3', 'timeout', '1000', 'payload', '{"message":"x"}'],
        ['id', 'echo:zero-timeout', 'attempt', '1', 'max', '3', 'timeout', '0', 'payload', '{"message":"x"}'],
      ];
      const taskIds: string[] = [];
      let written = 0;
      for (let i = 0; i < 200; i++) {
        // Unique task ids: dead-lettering is idempotent per task id, so a repeated id would count once.
        const fields =
          i % 8 === 7
            ? [junk(), junk()]
            : malformed[i % malformed.length]!.map((f) =>
                typeof f === 'string' && f.startsWith('echo:') ? `${f}-${i}` : f,
              );
        await redis.xadd(stream, '*', ...fields);
        written++;
        taskIds.push((await client.submit({ type: 'echo', payload: { message: `valid ${i}` } })).taskId);
      }
      const infos = await waitFor(
        'every valid task to succeed',
        async () => {
          const all = await Promise.all(taskIds.map((id) => client.get(id)));
          return all.every((i) => i?.status === 'succeeded') ? all : undefined;
        },
        60_000,
        200,
      );
      const stats = await waitFor(
        'every malformed entry to be dead-lettered',
        async () => {
          const [row] = await client.stats(['echo']);
          return row && row.length === 0 && row.pending === 0 ? row : undefined;
        },
        30_000,
        200,
      );
      // The worker still serves after all that.
      const after = await client.result(
        (await client.submit({ type: 'echo', payload: { message: 'after' } })).taskId,
      );
      figure('malformed stream entries', {
        malformed: written,
        dead_lettered: stats.deadLetters,
        valid: taskIds.length,
        valid_succeeded: infos.length,
        worker_serving_after: after.status,
      });
      expect(infos.map((i) => (i!.result as { message: string }).message)).toEqual(
        Array.from({ length: 200 }, (_, i) => `valid ${i}`),
      );
      expect(stats.deadLetters).toBe(written);
      expect(after.status).toBe('succeeded');
    } finally {
      await worker.stop();
      await client.close();
    }
  });
});

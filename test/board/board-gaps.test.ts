/**
 * The lane board's gaps of #28, over HTTP against the real Redis and real express workers: the login cookie is
 * `Secure` when the board is reached over https; the login form refuses a cross-site post (login CSRF); the Workers
 * view shows the pool threads running, not only the most; a dead consumer shows when its entries were reclaimed;
 * "Started/min" and "Done/min" count every worker's tasks, not only this process's.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ClusterWindow } from '../../src/board/cluster-window';
import { defineTaskType, ExpressClient, ExpressWorker, type TaskType } from '../../src/lane';
import { createLogger } from '../../src/logger';
import { instrumentExpressWorker } from '../../src/observability';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';
import { startBoardStack, type BoardStack } from './board-kit';

const POOLED = path.resolve(__dirname, '../fixtures/pooled-handlers.ts');
const TOKEN = 'board-gaps-token-0123456789abcdef';

describe('lane board gaps (#28)', () => {
  const redis = redisClient();
  const prefixes: string[] = [];
  const stacks: BoardStack[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  const stack = async (name: string, options: Parameters<typeof startBoardStack>[1] = {}) => {
    const prefix = uniquePrefix(`board-gaps-${name}`);
    prefixes.push(prefix);
    const s = await startBoardStack(prefix, options);
    stacks.push(s);
    return { ...s, prefix };
  };
  afterAll(async () => {
    for (const c of cleanups) await c();
    for (const s of stacks) await s.close();
    for (const p of prefixes) await deleteKeys(redis, p);
    redis.disconnect();
  });

  /** The login form's nonce and its cookie, as a browser gets them from GET /board/login. */
  async function loginForm(url: string, headers: Record<string, string> = {}) {
    const res = await fetch(`${url}/board/login`, { headers });
    const html = await res.text();
    const nonce = /name="login_nonce" value="([^"]*)"/.exec(html)?.[1] ?? '';
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    return { nonce, cookie, setCookie: res.headers.get('set-cookie') ?? '' };
  }
  async function postLogin(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return fetch(`${url}/board/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }
  const sessionCookie = (res: Response) =>
    res.headers.getSetCookie().find((c) => c.startsWith('sagalane_board=')) ?? '';
  const attrs = (cookie: string) => cookie.split(';').map((a) => a.trim().toLowerCase());

  describe('the session cookie', () => {
    it('over plain http: HttpOnly, SameSite=Strict, no Secure (a browser would drop it)', async () => {
      const s = await stack('cookie-http', { host: '0.0.0.0', token: TOKEN });
      const { nonce, cookie } = await loginForm(s.url);
      const res = await postLogin(s.url, { token: TOKEN, login_nonce: nonce }, { cookie });
      expect(res.status).toBe(303);
      const set = attrs(sessionCookie(res));
      expect(set).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/board']));
      expect(set).not.toContain('secure');
    });

    it('behind an https proxy (X-Forwarded-Proto, or an https page that posted, or an https publicUrl): Secure', async () => {
      const s = await stack('cookie-proxy', {
        host: '0.0.0.0',
        token: TOKEN,
        allowedOrigins: ['https://lanes.example.com'],
      });
      const proxied: Record<string, string>[] = [
        { 'x-forwarded-proto': 'https' },
        { origin: 'https://lanes.example.com' },
      ];
      for (const headers of proxied) {
        const form = await loginForm(s.url, headers);
        expect(attrs(form.setCookie)).toContain('secure');
        const res = await postLogin(
          s.url,
          { token: TOKEN, login_nonce: form.nonce },
          { cookie: form.cookie, ...headers },
        );
        expect(res.status).toBe(303);
        expect(attrs(sessionCookie(res))).toEqual(
          expect.arrayContaining(['secure', 'httponly', 'samesite=strict']),
        );
      }
      const behind = await stack('cookie-public-url', {
        host: '0.0.0.0',
        token: TOKEN,
        publicUrl: 'https://lanes.example.com/board',
      });
      const form = await loginForm(behind.url);
      const res = await postLogin(
        behind.url,
        { token: TOKEN, login_nonce: form.nonce },
        { cookie: form.cookie },
      );
      expect(attrs(sessionCookie(res))).toContain('secure');
    });

    it('served over TLS itself: Secure', async () => {
      const s = await stack('cookie-tls', { host: '0.0.0.0', token: TOKEN });
      const dir = mkdtempSync(path.join(os.tmpdir(), 'sagalane-board-tls-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' }); // prettier-ignore
      const server = https.createServer(
        { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) },
        (req, res) => s.board.handle(req, res),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      const port = (server.address() as AddressInfo).port;
      const request = (method: string, headers: Record<string, string>, body = '') =>
        new Promise<{ status: number; setCookie: string[]; body: string }>((resolve, reject) => {
          const req = https.request(
            { host: '127.0.0.1', port, path: '/board/login', method, headers, rejectUnauthorized: false },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  setCookie: res.headers['set-cookie'] ?? [],
                  body: text,
                }),
              );
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      const form = await request('GET', {});
      const nonce = /name="login_nonce" value="([^"]*)"/.exec(form.body)![1]!;
      const res = await request(
        'POST',
        { 'content-type': 'application/x-www-form-urlencoded', cookie: form.setCookie[0]!.split(';')[0]! },
        new URLSearchParams({ token: TOKEN, login_nonce: nonce }).toString(),
      );
      expect(res.status).toBe(303);
      const session = res.setCookie.find((c) => c.startsWith('sagalane_board='))!;
      expect(attrs(session)).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=strict']));
    });
  });

  describe('login CSRF', () => {
    it('refuses a login post without the form’s nonce and cookie (a cross-site form), and one from a foreign Origin', async () => {
      const s = await stack('login-csrf', { host: '0.0.0.0', token: TOKEN });
      // What a cross-site form sends: the attacker's (valid) token, no cookie of the board's (SameSite=Strict).
      const forged = await postLogin(s.url, { token: TOKEN });
      expect(forged.status).toBe(403);
      expect(sessionCookie(forged)).toBe('');
      // The attacker's own nonce (fetched by its server) does not match the victim's cookie, or no cookie at all.
      const theirs = await loginForm(s.url);
      const mine = await loginForm(s.url);
      expect((await postLogin(s.url, { token: TOKEN, login_nonce: theirs.nonce })).status).toBe(403);
      const crossed = await postLogin(
        s.url,
        { token: TOKEN, login_nonce: theirs.nonce },
        { cookie: mine.cookie },
      );
      expect(crossed.status).toBe(403);
      expect(sessionCookie(crossed)).toBe('');
      // A browser that names the foreign page's Origin is refused before the form is even read.
      const foreign = await postLogin(
        s.url,
        { token: TOKEN, login_nonce: mine.nonce },
        { cookie: mine.cookie, origin: 'https://evil.example' },
      );
      expect(foreign.status).toBe(403);
      expect(sessionCookie(foreign)).toBe('');
      // The board's own form, from its own page, signs in.
      const ok = await postLogin(s.url, { token: TOKEN, login_nonce: mine.nonce }, { cookie: mine.cookie });
      expect(ok.status).toBe(303);
      expect(sessionCookie(ok)).toMatch(/^sagalane_board=/);
    });
  });

  it('Workers: pool threads running now, of the most', async () => {
    const s = await stack('pool-threads');
    const types = [
      defineTaskType({
        name: 'board.burn',
        schema: z.object({ ms: z.number() }),
        pooled: { module: POOLED, export: 'burnCpu' },
        defaults: { lane: 'standard' },
      }),
    ] as TaskType[];
    const worker = new ExpressWorker({
      types,
      redisUrl: redisUrl(),
      keyPrefix: s.prefix,
      logger: createLogger('error'),
      poolThreads: { express: 1, standard: 2 },
    });
    const detach = instrumentExpressWorker(worker, s.metrics);
    cleanups.push(async () => {
      await worker.stop();
      detach();
    });
    await worker.start();
    const threadsCell = async () => {
      const html = await (await fetch(`${s.url}/board`)).text();
      return /<td data-col="pool-threads">([^<]*)<\/td>/.exec(html)?.[1];
    };
    // No pooled task yet: piscina has started no thread.
    expect(await threadsCell()).toBe('express 0 of 1, standard 0 of 2');
    const client = new ExpressClient({ types, redisUrl: redisUrl(), keyPrefix: s.prefix });
    cleanups.push(() => client.close());
    const { taskId } = await client.submit({ type: 'board.burn', payload: { ms: 10 } });
    expect((await client.result(taskId, { waitMs: 20_000 })).status).toBe('succeeded');
    // The thread stays until its idle timeout (30 s by default).
    expect(await threadsCell()).toBe('express 0 of 1, standard 1 of 2');
  }, 40_000);

  it('Workers: a dead consumer shows when its entries were reclaimed, also once it left the group', async () => {
    const s = await stack('reclaimed', { deadAfterMs: 1500 });
    const stream = s.express.keys.stream('board.work', 'express');
    await s.redis
      .call('XGROUP', 'CREATE', stream, 'sagalane-workers', '0', 'MKSTREAM')
      .catch(() => undefined);
    const { taskId } = await s.express.submit({ type: 'board.work', payload: { n: 1 } });
    // A worker read it, then died (kill -9): the entry stays pending under its name.
    await s.redis.call(
      'XREADGROUP',
      'GROUP',
      'sagalane-workers',
      'crashed-worker',
      'COUNT',
      1,
      'STREAMS',
      stream,
      '>',
    );
    const before = Date.now();
    await s.startWorker();
    expect((await s.express.result(taskId, { waitMs: 20_000 })).status).toBe('succeeded');
    const row = async () => {
      const html = await (await fetch(`${s.url}/board`)).text();
      return /<tr data-consumer="crashed-worker"[^>]*>([\s\S]*?)<\/tr>/.exec(html)?.[1] ?? '';
    };
    const shown = await waitFor(
      'the reclaim time on the dead consumer',
      async () => {
        const r = await row();
        return /Dead/.test(r) && /<time datetime="([^"]+)"/.exec(r) ? r : undefined;
      },
      15_000,
    );
    const at = Date.parse(/<time datetime="([^"]+)"/.exec(shown)![1]!);
    expect(at).toBeGreaterThanOrEqual(before - 5);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(shown).toContain('its entries were reclaimed');
    // The janitor removes a silent consumer that holds nothing; the board still says what became of it.
    await s.redis.call('XGROUP', 'DELCONSUMER', stream, 'sagalane-workers', 'crashed-worker');
    expect(await row()).toContain('its entries were reclaimed and it left the group');
  }, 40_000);

  it('Lanes: Started/min and Done/min count the tasks of every worker, not only this process’s', async () => {
    const s = await stack('cluster-rate');
    // A worker of "another process": not in this board's metrics registry.
    const other = new ExpressWorker({
      types: s.types,
      redisUrl: redisUrl(),
      keyPrefix: s.prefix,
      logger: createLogger('error'),
    });
    cleanups.push(() => other.stop());
    await other.start();
    const cells = async () => {
      const html = await (await fetch(`${s.url}/board`)).text();
      const row = /aria-label="express lane"[\s\S]*?<tr data-type="board.work">([\s\S]*?)<\/tr>/.exec(
        html,
      )![1]!;
      return {
        started: /data-col="started">([^<]*)</.exec(row)?.[1],
        done: /data-col="done">([^<]*)</.exec(row)?.[1],
      };
    };
    // Redis knows a group's count once it has read to the end of its stream (a group created at 0 starts unknown).
    const first = await s.express.submit({ type: 'board.work', payload: {} });
    expect((await s.express.result(first.taskId, { waitMs: 20_000 })).status).toBe('succeeded');
    await cells(); // the baseline sample
    const ids = await Promise.all(
      Array.from(
        { length: 20 },
        async (_, n) => (await s.express.submit({ type: 'board.work', payload: { n } })).taskId,
      ),
    );
    for (const id of ids) expect((await s.express.result(id, { waitMs: 20_000 })).status).toBe('succeeded');
    // Samples are at least a second apart.
    const seen = await waitFor(
      'a cluster-wide rate',
      async () => {
        const c = await cells();
        return Number(c.started) > 0 ? c : undefined;
      },
      10_000,
    );
    expect(Number(seen.started)).toBeGreaterThanOrEqual(20);
    // This process ran none of them, yet Done/min counts them: the other worker publishes its minute (every 5 s).
    const done = await waitFor(
      'Done/min from the other worker’s published window',
      async () => {
        const c = await cells();
        return Number(c.done) >= 21 && c.done;
      },
      15_000,
    );
    expect(done).toBe('21');
  }, 40_000);

  it('ClusterWindow: the rate over the oldest sample within the minute', () => {
    const w = new ClusterWindow(1000);
    const k = 'echo\u0000express';
    expect(w.record(new Map([[k, 100]]), 0).size).toBe(0);
    expect(w.record(new Map([[k, 130]]), 30_000).get(k)).toEqual({ startedPerMin: 60, windowS: 30 });
    expect(w.record(new Map([[k, 160]]), 60_000).get(k)).toEqual({ startedPerMin: 60, windowS: 60 });
    // Past a minute the oldest sample goes: the rate is over the last minute only.
    expect(w.record(new Map([[k, 400]]), 90_000).get(k)).toEqual({ startedPerMin: 270, windowS: 60 });
    // A count that went back (the group re-created) gives no figure rather than a negative one.
    expect(w.record(new Map([[k, 5]]), 91_000).get(k)).toBeUndefined();
  });
});

/**
 * The lane board's HTTP side: pages, the live stream (server-sent events) and the actions, under `/board`. Every
 * request passes the MCP endpoint's guard (Host, Origin, bearer token; src/mcp/request-guard.ts), with a token from
 * the login form's cookie counting as a bearer token. Actions are POSTs carrying the page's CSRF token, refused in
 * read-only mode, and call the lane's and SagaClient's own operations (what `sagalane task dead …`, `sagalane saga
 * approve` and the MCP tools call), so there is one code path for every front door.
 *
 * The live stream costs nothing while nobody watches: its timer runs only while a page is connected, and one read
 * per tick is shared by every connected page (per dead-letter view, by every page showing it).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { SagaClient } from '../client/saga-client';
import type { ExpressClient } from '../lane/express-client';
import { LANES, type Lane } from '../lane/keys';
import { createRequestGuard, type GuardVerdict } from '../mcp/request-guard';
import { BOARD_SCRIPT, BOARD_STYLE } from './board-assets';
import type { BoardData } from './board-data';
import {
  deadSection,
  esc,
  lanesSection,
  loginPage,
  page,
  sagaSection,
  sagasSection,
  taskSection,
  workersSection,
  type DeadView,
  type SagaRow,
} from './board-html';

export interface BoardOptions {
  data: BoardData;
  express: ExpressClient;
  /** Opens the saga client on first use (a lazy front door's `sagas`); absent: no sagas section. */
  sagas?: () => Promise<SagaClient>;
  /** Refuse replays, purges, approvals and rejections. @defaultValue false */
  readOnly?: boolean;
  /** Bearer tokens (SAGALANE_MCP_TOKEN / _TOKENS); none: no token asked (loopback only). */
  token?: string;
  tokens?: string[];
  allowedHosts?: string[];
  allowedOrigins?: string[];
  /** The Temporal Web UI of the sagas' namespace, e.g. `http://127.0.0.1:8233/namespaces/default`. */
  temporalUi: string;
  /** How often the live stream sends. @defaultValue 1000 */
  tickMs?: number;
  /** Most dead letters shown per lane. @defaultValue 200 */
  deadLimit?: number;
  /**
   * The address users open the board at, when a proxy serves it (e.g. `https://lanes.example.com/board`). An https
   * one makes the login cookie `Secure` whatever the request says. @defaultValue none (decided per request)
   */
  publicUrl?: string;
}

export interface Board {
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Ends the live streams. */
  close(): void;
}

const COOKIE = 'sagalane_board';
/** The login form's own CSRF cookie: a nonce the form repeats in a hidden field (double submit). */
const LOGIN_COOKIE = 'sagalane_board_login';
const MAX_BODY = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createBoard(o: BoardOptions): Board {
  const csrf = randomBytes(24).toString('base64url');
  const csrfDigest = sha(csrf);
  const readOnly = o.readOnly ?? false;
  const tickMs = o.tickMs ?? 1000;
  const guards = new Map<number, (h: IncomingHttpHeaders) => GuardVerdict>();
  const guardFor = (port: number) => {
    let g = guards.get(port);
    if (!g) {
      g = createRequestGuard({
        port,
        token: o.token,
        tokens: o.tokens,
        allowedHosts: o.allowedHosts,
        allowedOrigins: o.allowedOrigins,
      });
      guards.set(port, g);
    }
    return g;
  };
  const tokenRequired = !!o.token || (o.tokens?.length ?? 0) > 0;

  const send = (res: http.ServerResponse, status: number, type: string, body: string, extra = {}) => {
    res.writeHead(status, {
      'content-type': type,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'same-origin',
      'content-security-policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      ...extra,
    });
    res.end(body);
  };
  const html = (res: http.ServerResponse, status: number, body: string) =>
    send(res, status, 'text/html; charset=utf-8', body);
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

  // --- what the pages show ---------------------------------------------------------------------------------
  const lanesHtml = async () => lanesSection(await o.data.overview(), o.data.process());
  const workersHtml = async () => workersSection(await o.data.consumers(), o.data.process());
  const deadView = async (type: string, filter: string): Promise<DeadView> => {
    const letters: DeadView['letters'] = [];
    for (const lane of LANES)
      for (const l of await o.express.deadLetters(type, lane, { count: o.deadLimit ?? 200 }))
        letters.push({ ...l, lane });
    const needle = filter.toLowerCase();
    return {
      type,
      filter,
      letters: needle
        ? letters.filter((l) => `${l.taskId} ${l.reason} ${l.error}`.toLowerCase().includes(needle))
        : letters,
    };
  };
  const sagaRows = async (): Promise<SagaRow[] | string> => {
    if (!o.sagas) return 'no Temporal connection in this process';
    try {
      const client = await o.sagas();
      const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
      // Every saga type the process serves (its catalog: SAGALANE_SAGAS's, or the research pipeline).
      const types = client.catalog.types;
      const [waiting, running, failed] = await Promise.all([
        client.list({ types, state: 'awaiting_approval', pageSize: 50 }),
        client.list({ types, query: 'ExecutionStatus="Running"', pageSize: 50 }),
        client.list({
          types,
          query: `(ExecutionStatus="Failed" OR SagaState="failed" OR SagaState="rolled_back") AND CloseTime > "${hourAgo}"`,
          pageSize: 50,
        }),
      ]);
      const seen = new Set<string>();
      const rows: SagaRow[] = [];
      const add = (items: typeof waiting.items, group: SagaRow['group']) => {
        for (const s of items) {
          if (seen.has(s.sagaId)) continue;
          seen.add(s.sagaId);
          rows.push({ ...s, group });
        }
      };
      add(waiting.items, 'awaiting approval');
      add(running.items, 'running');
      add(failed.items, 'failed in the last hour');
      return rows;
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  };
  const sagasHtml = async () => sagasSection(await sagaRows(), o.temporalUi);

  // --- the live stream: one timer while anyone watches, one read per view per tick ---------------------------
  interface Watcher {
    res: http.ServerResponse;
    type?: string;
    filter: string;
  }
  const watchers = new Set<Watcher>();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;
  let ticks = 0;
  let lastSagas = '';
  const tick = async () => {
    if (ticking) return;
    ticking = true;
    try {
      const shared: Record<string, string> = {};
      const [lanes, workers] = await Promise.all([lanesHtml(), workersHtml()]);
      shared.lanes = lanes;
      shared.workers = workers;
      if (ticks++ % 3 === 0) lastSagas = await sagasHtml();
      if (lastSagas) shared.sagas = lastSagas;
      const deadByView = new Map<string, Promise<string>>();
      for (const w of watchers) {
        let part: Promise<string> | undefined;
        if (w.type) {
          const key = `${w.type}\u0000${w.filter}`;
          part = deadByView.get(key);
          if (!part) {
            part = deadView(w.type, w.filter).then((v) => deadSection(o.data.typeNames(), v));
            deadByView.set(key, part);
          }
        }
        const parts = part ? { ...shared, dead: await part } : shared;
        w.res.write(`data: ${JSON.stringify(parts)}\n\n`);
      }
    } catch (err) {
      for (const w of watchers) w.res.write(`event: problem\ndata: ${JSON.stringify(String(err))}\n\n`);
    } finally {
      ticking = false;
    }
  };
  const watch = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const type = url.searchParams.get('type') ?? undefined;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    const w: Watcher = {
      res,
      type: type && o.data.hasType(type) ? type : undefined,
      filter: url.searchParams.get('q') ?? '',
    };
    watchers.add(w);
    if (!timer) timer = setInterval(() => void tick(), tickMs);
    void tick();
    req.on('close', () => {
      watchers.delete(w);
      if (watchers.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    });
  };

  // --- actions ---------------------------------------------------------------------------------------------
  const actions: Record<string, (body: Record<string, unknown>) => Promise<{ message: string } & object>> = {
    '/board/dead/replay': async (body) => {
      const type = knownType(body.type);
      const retried: string[] = [];
      const missing: string[] = [];
      for (const [lane, ids] of lettersByLane(body)) {
        const r = await o.express.retryDead(type, lane, ids);
        retried.push(...r.retried);
        missing.push(...r.missing);
      }
      const gone = missing.length ? `; not found: ${missing.join(', ')}` : '';
      return { retried, missing, message: `Replayed ${retried.length} task(s) of ${type}${gone}` };
    },
    '/board/dead/purge': async (body) => {
      const type = knownType(body.type);
      let deleted = 0;
      if (body.all === true) for (const lane of LANES) deleted += await o.express.purgeDead(type, lane);
      else
        for (const [lane, ids] of lettersByLane(body)) deleted += await o.express.purgeDead(type, lane, ids);
      return { deleted, message: `Purged ${deleted} dead letter(s) of ${type}` };
    },
    '/board/sagas/approve': async (body) => {
      const client = await sagasOrFail();
      const state = await client.approve(sagaIdOf(body), { approver: 'lane board' });
      return { state: state.state, message: `Approved ${sagaIdOf(body)}: now ${state.state}` };
    },
    '/board/sagas/reject': async (body) => {
      const client = await sagasOrFail();
      const state = await client.reject(sagaIdOf(body), {
        approver: 'lane board',
        reason: 'rejected on the lane board',
      });
      return { state: state.state, message: `Rejected ${sagaIdOf(body)}: now ${state.state}` };
    },
  };
  const knownType = (t: unknown): string => {
    if (typeof t !== 'string' || !o.data.hasType(t))
      throw new HttpError(400, `unknown task type ${String(t)}`);
    return t;
  };
  const sagaIdOf = (body: Record<string, unknown>): string => {
    if (typeof body.sagaId !== 'string' || !body.sagaId) throw new HttpError(400, 'sagaId is required');
    return body.sagaId;
  };
  const sagasOrFail = async () => {
    if (!o.sagas) throw new HttpError(503, 'no Temporal connection in this process');
    return o.sagas();
  };
  /** `{ lane, ids }` or `{ letters: [{ id, lane }] }`, grouped by lane. */
  const lettersByLane = (body: Record<string, unknown>): Map<Lane, string[]> => {
    const out = new Map<Lane, string[]>();
    const list: { id: unknown; lane: unknown }[] = Array.isArray(body.letters)
      ? (body.letters as { id: unknown; lane: unknown }[])
      : Array.isArray(body.ids)
        ? (body.ids as unknown[]).map((id) => ({ id, lane: body.lane }))
        : [];
    for (const { id, lane } of list) {
      if (typeof id !== 'string' || !LANES.includes(lane as Lane))
        throw new HttpError(400, 'each dead letter needs an id and a lane (express or standard)');
      out.set(lane as Lane, [...(out.get(lane as Lane) ?? []), id]);
    }
    if (out.size === 0) throw new HttpError(400, 'no dead letters named');
    return out;
  };

  // --- requests --------------------------------------------------------------------------------------------
  const route = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => {
    const path = url.pathname;
    if (path === '/board/board.js') return send(res, 200, 'text/javascript; charset=utf-8', BOARD_SCRIPT);
    if (path === '/board/board.css') return send(res, 200, 'text/css; charset=utf-8', BOARD_STYLE);
    if (req.method === 'POST') {
      const action = actions[path];
      if (!action) throw new HttpError(404, `no action ${path}`);
      if (!sameToken(req.headers['x-csrf-token'], csrfDigest))
        throw new HttpError(403, 'missing or wrong CSRF token: reload the board and try again');
      if (readOnly) throw new HttpError(403, 'refused: the board is read-only (SAGALANE_BOARD_READ_ONLY)');
      const body = await readJson(req);
      return json(res, 200, await action(body));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} not allowed`);
    const opts = { csrf, readOnly };
    if (path === '/board/events') return watch(req, res, url);
    if (path === '/board/task') {
      const id = url.searchParams.get('id')?.trim() ?? '';
      let view;
      try {
        view = id ? await o.data.task(id) : undefined;
      } catch {
        view = undefined; // not a lane task id
      }
      return html(
        res,
        200,
        page({ ...opts, title: `Task ${id}` }, `<h2>Task</h2>${taskSection(id, view, o.temporalUi)}`),
      );
    }
    if (path === '/board/saga') {
      const id = url.searchParams.get('id')?.trim() ?? '';
      let view;
      try {
        view = await (await sagasOrFail()).getState(id);
      } catch (err) {
        view = err instanceof Error ? err.message : String(err);
      }
      return html(
        res,
        200,
        page(
          { ...opts, title: `Saga ${id}` },
          `<h2>Saga ${esc(id)}</h2>${sagaSection(id, view, o.temporalUi)}`,
        ),
      );
    }
    if (path === '/board' || path === '/board/') {
      const requested = url.searchParams.get('type') ?? '';
      const type = o.data.hasType(requested) ? requested : undefined;
      const filter = url.searchParams.get('q') ?? '';
      const [lanes, workers, dead, sagas] = await Promise.all([
        lanesHtml(),
        workersHtml(),
        type ? deadView(type, filter) : Promise.resolve(undefined),
        sagasHtml(),
      ]);
      const live = new URLSearchParams();
      if (type) live.set('type', type);
      if (filter) live.set('q', filter);
      const body = `<h2 id="lanes-title">Lanes</h2><section id="lanes" aria-labelledby="lanes-title">${lanes}</section>
<h2 id="workers-title">Workers</h2><section id="workers" aria-labelledby="workers-title">${workers}</section>
<h2 id="dead-title">Dead letters</h2><section id="dead" aria-labelledby="dead-title">${deadSection(o.data.typeNames(), dead)}</section>
<h2 id="sagas-title">Sagas in flight</h2><section id="sagas" aria-labelledby="sagas-title">${sagas}</section>`;
      return html(res, 200, page({ ...opts, title: 'Overview', live: live.toString() }, body));
    }
    throw new HttpError(404, `no page ${path}`);
  };

  /**
   * Whether cookies set in answer to `req` get `Secure`: the board's public URL is https, the request came over TLS,
   * a proxy says it did (X-Forwarded-Proto), or the page that posted is an https origin (the guard accepted that
   * Origin). A false "https" only makes the cookie stay off plain http: it weakens nothing.
   */
  const publicHttps = /^https:/i.test(o.publicUrl ?? '');
  const secureFor = (req: http.IncomingMessage) =>
    publicHttps ||
    (req.socket as { encrypted?: boolean }).encrypted === true ||
    firstHeader(req.headers['x-forwarded-proto']).toLowerCase() === 'https' ||
    /^https:\/\//i.test(firstHeader(req.headers.origin));
  const cookie = (req: http.IncomingMessage, name: string, value: string) =>
    `${name}=${encodeURIComponent(value)}; Path=/board; HttpOnly; SameSite=Strict${secureFor(req) ? '; Secure' : ''}`;
  /**
   * The login form with a fresh nonce, in a cookie and in the form: a cross-site form cannot send the cookie
   * (SameSite=Strict) nor read the nonce, so it cannot sign a victim in with the attacker's token (login CSRF).
   */
  const loginForm = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    status: number,
    message?: string,
    extra: Record<string, string> = {},
  ) => {
    const nonce = randomBytes(18).toString('base64url');
    send(res, status, 'text/html; charset=utf-8', loginPage(message, nonce), {
      ...extra,
      'set-cookie': cookie(req, LOGIN_COOKIE, nonce),
    });
  };

  const login = async (req: http.IncomingMessage, res: http.ServerResponse, port: number) => {
    if (req.method !== 'POST') return loginForm(req, res, 200);
    const form = new URLSearchParams(await readText(req));
    // The form's nonce must be the one its cookie holds (the guard already refused a foreign Origin).
    const nonce = cookieValue(req.headers, LOGIN_COOKIE);
    if (!nonce || !sameToken(form.get('login_nonce') ?? undefined, sha(nonce)))
      return loginForm(req, res, 403, 'The sign-in form expired or came from another site: sign in again.');
    const token = form.get('token') ?? '';
    const verdict = guardFor(port)({ ...req.headers, authorization: `Bearer ${token}` });
    if (!verdict.ok) return loginForm(req, res, 401, 'Wrong token.');
    res.writeHead(303, {
      location: '/board',
      'set-cookie': [
        cookie(req, COOKIE, token),
        // The nonce is spent.
        `${LOGIN_COOKIE}=; Path=/board; Max-Age=0; HttpOnly; SameSite=Strict${secureFor(req) ? '; Secure' : ''}`,
      ],
      'cache-control': 'no-store',
    });
    res.end();
  };

  return {
    handle(req, res) {
      const url = new URL(req.url ?? '/board', 'http://localhost');
      const port = req.socket.localPort ?? 0;
      const headers = withCookieToken(req.headers);
      const verdict = guardFor(port)(headers);
      const isLogin = url.pathname === '/board/login';
      const failed = (err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        if (res.headersSent) return res.destroy();
        if (req.method === 'POST') json(res, status, { error: message });
        else
          html(
            res,
            status,
            page({ title: 'Error', csrf: '', readOnly }, `<p role="alert">${esc(message)}</p>`),
          );
      };
      if (isLogin && tokenRequired && (verdict.ok || verdict.status === 401)) {
        login(req, res, port).catch(failed);
        return;
      }
      if (!verdict.ok) {
        // A browser without the token gets the login form; anything else the guard's answer.
        if (
          verdict.status === 401 &&
          req.method === 'GET' &&
          wantsHtml(req.headers) &&
          url.pathname !== '/board/events'
        )
          return loginForm(req, res, 401, 'Sign in with the token.', verdict.headers);
        return send(
          res,
          verdict.status,
          'application/json; charset=utf-8',
          JSON.stringify({ error: verdict.message }),
          verdict.headers,
        );
      }
      route(req, res, url).catch(failed);
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
  };
}

/** The login cookie's token as a bearer token, when the request carries no Authorization header of its own. */
function withCookieToken(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  if (headers.authorization) return headers;
  const token = cookieValue(headers, COOKIE);
  if (token === undefined) return headers;
  return { ...headers, authorization: `Bearer ${token}` };
}

function cookieValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const found = (headers.cookie ?? '')
    .split(';')
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${name}=`));
  if (!found) return undefined;
  try {
    return decodeURIComponent(found.slice(name.length + 1));
  } catch {
    return undefined;
  }
}

function firstHeader(value: string | string[] | undefined): string {
  const v = Array.isArray(value) ? value[0] : value;
  return (v ?? '').split(',')[0]!.trim();
}

function wantsHtml(headers: IncomingHttpHeaders): boolean {
  return (headers.accept ?? '').includes('text/html');
}

function sha(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function sameToken(sent: string | string[] | undefined, digest: Buffer): boolean {
  return typeof sent === 'string' && timingSafeEqual(sha(sent), digest);
}

async function readText(req: http.IncomingMessage): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
    throw new HttpError(415, 'send application/json');
  try {
    const body = JSON.parse(await readText(req)) as unknown;
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch (err) {
    if (err instanceof HttpError) throw err;
  }
  throw new HttpError(400, 'the body must be a JSON object');
}

/**
 * The lane board in a real browser (Debian's chromium through playwright-core) against the real Redis and real
 * express workers: the lanes' backlog live while no worker runs and once one does, a dead letter appearing live and
 * replayed to `succeeded` (on the page and through `sagalane task get`), purges, read-only refusals, and the
 * security rules (token, Origin, escaping, CSRF).
 */
import http from 'node:http';
import type { Page } from 'playwright-core';
import { runSagalane } from '../front/front-kit';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';
import { launchBrowser, startBoardStack, type Browser, type BoardStack } from './board-kit';

const SCREENSHOTS = process.env.SAGALANE_BOARD_SCREENSHOTS === '1';
const docs = (name: string) => `${__dirname}/../../docs/${name}`;

describe('lane board', () => {
  const redis = redisClient();
  const prefixes: string[] = [];
  const stacks: BoardStack[] = [];
  let browser: Browser;

  const stack = async (name: string, options: Parameters<typeof startBoardStack>[1] = {}) => {
    const prefix = uniquePrefix(`board-${name}`);
    prefixes.push(prefix);
    const s = await startBoardStack(prefix, options);
    stacks.push(s);
    return { ...s, prefix };
  };
  const open = async (url: string): Promise<Page> => {
    const page = await browser.context.newPage();
    page.on('dialog', (d) => void d.accept());
    await page.goto(url);
    // Marks this document: still there at the end means the page updated without a reload.
    await page.evaluate(() => Object.assign(globalThis, { boardTestMark: 'same document' }));
    return page;
  };
  const sameDocument = (page: Page) =>
    page.evaluate(() => (globalThis as { boardTestMark?: string }).boardTestMark);
  const cell = (page: Page, lane: string, type: string, col: string) =>
    page
      .getByRole('table', { name: `${lane} lane` })
      .locator(`tr[data-type="${type}"] [data-col="${col}"]`)
      .textContent();
  const deadRows = (page: Page) => page.locator('#dead tbody tr[data-dead-id]');
  const statusText = (page: Page) => page.locator('#status').textContent();
  /** The status line once it reports a failure (it turns into an alert). */
  const refusal = (page: Page) => page.locator('#status[role="alert"]').textContent({ timeout: 1000 });
  /** A task of `type` that fails into the dead letters (the handler fails while the flag is set; 1 attempt). */
  const deadTask = async (s: BoardStack, type: string, payload: Record<string, unknown> = {}) => {
    await s.redis.set(s.failFlag, '1');
    const { taskId } = await s.express.submit({ type, payload });
    const info = await s.express.result(taskId, { waitMs: 15_000 });
    expect(info.status).toBe('dead');
    await s.redis.del(s.failFlag);
    return taskId;
  };

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of stacks) await s.close();
    for (const p of prefixes) await deleteKeys(redis, p);
    redis.disconnect();
  });

  it('shows the backlog growing while no worker runs and draining once one does, live, express beside standard', async () => {
    const s = await stack('overview');
    const page = await open(`${s.url}/board`);
    expect(await page.getByRole('table', { name: 'express lane' }).isVisible()).toBe(true);
    expect(await page.getByRole('table', { name: 'standard lane' }).isVisible()).toBe(true);
    expect(await cell(page, 'express', 'board.work', 'backlog')).toBe('0');

    await s.express.submitMany(
      Array.from({ length: 25 }, (_, n) => ({ type: 'board.work', payload: { n } })),
    );
    await s.express.submitMany(
      Array.from({ length: 40 }, (_, n) => ({ type: 'board.bulk', payload: { n } })),
    );
    await waitFor(
      'express backlog 25 on the page',
      async () => (await cell(page, 'express', 'board.work', 'backlog')) === '25',
      15_000,
    );
    await waitFor(
      'standard backlog 40 on the page',
      async () => (await cell(page, 'standard', 'board.bulk', 'backlog')) === '40',
      15_000,
    );
    // The oldest waiting entry ages while nothing reads.
    await waitFor(
      'oldest waiting shown',
      async () => (await cell(page, 'express', 'board.work', 'oldest')) !== '0 ms',
      15_000,
    );

    await s.startWorker();
    await waitFor(
      'express backlog drained on the page',
      async () => (await cell(page, 'express', 'board.work', 'backlog')) === '0',
      30_000,
    );
    await waitFor(
      'standard backlog drained on the page',
      async () => (await cell(page, 'standard', 'board.bulk', 'backlog')) === '0',
      30_000,
    );
    // Done/min is the fleet's, from the workers' published minute (every 5 s): all 25, and not labelled "(here)".
    await waitFor(
      'express Done/min 25 on the page',
      async () => (await cell(page, 'express', 'board.work', 'done')) === '25',
      15_000,
    );
    const express = page.getByRole('table', { name: 'express lane' });
    expect(await express.getByRole('columnheader', { name: 'Done/min', exact: true }).count()).toBe(1);
    expect(await express.locator('tbody').textContent()).not.toContain('(here)');
    // The workers section lists the consumer, alive.
    await waitFor(
      'consumer listed',
      async () => (await page.locator('#workers tbody tr[data-consumer]').count()) > 0,
      15_000,
    );
    const consumer = await page.locator('#workers tbody tr[data-consumer]').getAttribute('data-consumer');
    expect(await page.locator('#workers tbody tr[data-consumer] td').nth(3).textContent()).toBe('alive');
    // This process's worker: its slots and pool threads, under the same consumer name.
    const mine = page.getByRole('table', { name: "This process's workers" }).locator('tbody tr');
    expect(await mine.count()).toBe(1);
    expect(await mine.locator('th').textContent()).toBe(consumer);
    expect(await mine.textContent()).toMatch(/express \d+ of \d+, standard \d+ of \d+/);
    expect(await sameDocument(page)).toBe('same document');
    if (SCREENSHOTS) {
      await s.express.submitMany(
        Array.from({ length: 300 }, (_, n) => ({ type: 'board.bulk', payload: { n } })),
      );
      await waitFor(
        'load on the page',
        async () => (await cell(page, 'standard', 'board.bulk', 'backlog')) !== '0',
        10_000,
      );
      await page.screenshot({ path: docs('board-overview.png'), fullPage: false });
    }
    await page.close();
  });

  it('reads nothing from Redis while no page is open, and stops when the last page closes', async () => {
    const s = await stack('idle');
    await s.startWorker();
    // Count what the board's connection sends (the board's ExpressClient shares it).
    let sent = 0;
    const original = s.redis.sendCommand as (...args: unknown[]) => unknown;
    Object.assign(s.redis, {
      sendCommand: (...args: unknown[]) => {
        sent++;
        return original.apply(s.redis, args);
      },
    });
    // Silence is measured over a span of time (five ticks of this stack's 300 ms timer): nothing to await instead.
    const quiet = async () => {
      const before = sent;
      await new Promise((r) => setTimeout(r, 1500));
      return sent - before;
    };
    expect(await quiet()).toBe(0);
    const page = await open(`${s.url}/board`);
    await waitFor('live updates reading Redis', async () => (await quiet()) > 0, 15_000);
    await page.close();
    await waitFor('silence once the page is gone', async () => (await quiet()) === 0, 15_000);
  });

  it('flags a consumer that went silent as dead, live', async () => {
    // Live workers read (XREADGROUP BLOCK 1000) at least every second: 4 s of silence is far past that.
    const s = await stack('dead-consumer', { deadAfterMs: 4000 });
    await s.startWorker();
    // A consumer that joined the group and then vanished (a crashed worker) stops being seen by Redis.
    const stream = s.express.keys.stream('board.work', 'express');
    await s.redis.call('XGROUP', 'CREATECONSUMER', stream, 'sagalane-workers', 'crashed-worker');
    const page = await open(`${s.url}/board`);
    const gone = page.locator('#workers tr[data-consumer="crashed-worker"]');
    await waitFor(
      'the silent consumer flagged dead',
      async () => (await gone.getAttribute('class')) === 'dead',
      15_000,
    );
    expect(await gone.textContent()).toContain('Dead: silent past the limit');
    // The live worker is not.
    expect(await page.locator('#workers tr.dead').count()).toBe(1);
    expect(await sameDocument(page)).toBe('same document');
    await page.close();
  });

  it('shows a dead letter live; Replay runs it to succeeded (page and `sagalane task get`)', async () => {
    const s = await stack('replay');
    await s.startWorker();
    const page = await open(`${s.url}/board?type=board.work`);
    expect(await deadRows(page).count()).toBe(0);

    const taskId = await deadTask(s, 'board.work', { n: 7 });
    const row = page.locator(`#dead tbody tr:has(a:text-is("${taskId}"))`);
    await waitFor('the dead letter on the page', async () => (await row.count()) === 1, 15_000);
    expect(await row.textContent()).toContain('told to fail');
    if (SCREENSHOTS) await page.screenshot({ path: docs('board-dead-letters.png'), fullPage: true });

    await row.getByRole('button', { name: `Replay ${taskId}` }).click();
    await waitFor(
      'replay confirmed',
      async () => (await statusText(page))?.startsWith('Replayed 1 task'),
      15_000,
    );
    await waitFor('the letter gone from the page', async () => (await row.count()) === 0, 15_000);
    expect(await sameDocument(page)).toBe('same document');

    const info = await s.express.result(taskId, { waitMs: 15_000 });
    expect(info.status).toBe('succeeded');
    await page.goto(`${s.url}/board/task?id=${encodeURIComponent(taskId)}`);
    expect(await page.locator('[data-field="status"]').textContent()).toBe('succeeded');
    const cli = await runSagalane(
      { ...process.env, REDIS_URL: redisUrl(), SAGALANE_KEY_PREFIX: s.prefix, SAGALANE_LOG_LEVEL: 'error' },
      ['task', 'get', taskId, '--json'],
    );
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ taskId, status: 'succeeded', result: { ok: true, n: 7 } });
    await page.close();
  });

  it('filters dead letters, and "Replay selected" replays the checked ones only', async () => {
    const s = await stack('selection');
    await s.startWorker();
    const ids = [
      await deadTask(s, 'board.work'),
      await deadTask(s, 'board.work'),
      await deadTask(s, 'board.work'),
    ];
    const filtered = await open(`${s.url}/board?type=board.work&q=${encodeURIComponent(ids[1]!)}`);
    expect(await deadRows(filtered).count()).toBe(1);
    await filtered.close();

    const page = await open(`${s.url}/board?type=board.work`);
    expect(await deadRows(page).count()).toBe(3);
    await page.getByRole('checkbox', { name: `Select ${ids[0]}` }).check();
    await page.getByRole('checkbox', { name: `Select ${ids[2]}` }).check();
    // A live update that re-renders the list (a new letter arrives) keeps the selection.
    const late = await deadTask(s, 'board.work');
    await waitFor('the new letter on the page', async () => (await deadRows(page).count()) === 4, 15_000);
    expect(await page.getByRole('checkbox', { name: `Select ${ids[2]}` }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Replay selected' }).click();
    await waitFor(
      'two replayed',
      async () => (await statusText(page))?.startsWith('Replayed 2 task(s)'),
      15_000,
    );
    for (const id of [ids[0]!, ids[2]!])
      expect((await s.express.result(id, { waitMs: 15_000 })).status).toBe('succeeded');
    expect((await s.express.deadLetters('board.work', 'express')).map((l) => l.taskId)).toEqual([
      ids[1],
      late,
    ]);
    await waitFor('two left on the page', async () => (await deadRows(page).count()) === 2, 15_000);
    await page.close();
  });

  it('Purge removes one dead letter, and "Purge all" empties the list', async () => {
    const s = await stack('purge');
    await s.startWorker();
    const ids = [
      await deadTask(s, 'board.work'),
      await deadTask(s, 'board.work'),
      await deadTask(s, 'board.bulk'),
    ];
    const page = await open(`${s.url}/board?type=board.work`);
    expect(await deadRows(page).count()).toBe(2);

    await page.getByRole('button', { name: `Purge ${ids[0]}` }).click();
    await waitFor(
      'one purged',
      async () => (await statusText(page)) === 'Purged 1 dead letter(s) of board.work',
      15_000,
    );
    await waitFor('one left on the page', async () => (await deadRows(page).count()) === 1, 15_000);

    await page.getByRole('button', { name: 'Purge all board.work' }).click();
    await waitFor(
      'all purged',
      async () => (await statusText(page)) === 'Purged 1 dead letter(s) of board.work',
      15_000,
    );
    await waitFor(
      'the list empty',
      async () => (await page.locator('#dead tbody').textContent())?.includes('No dead letters.'),
      15_000,
    );
    expect(await s.express.deadLetters('board.work', 'express')).toEqual([]);
    // Another type's letters are untouched.
    expect((await s.express.deadLetters('board.bulk', 'standard')).map((l) => l.taskId)).toEqual([ids[2]]);
    await page.close();
  });

  it('refuses Replay and Purge in read-only mode, and shows the refusal', async () => {
    const s = await stack('read-only', { readOnly: true });
    await s.startWorker();
    const taskId = await deadTask(s, 'board.work');
    const page = await open(`${s.url}/board?type=board.work`);
    expect(await page.getByRole('note').textContent()).toContain('Read-only');

    await page.getByRole('button', { name: `Replay ${taskId}` }).click();
    await waitFor('replay refused', async () => (await refusal(page))?.includes('read-only'), 15_000);
    await page.locator('#status').evaluate((el) => (el.textContent = ''));
    await page.getByRole('button', { name: `Purge ${taskId}` }).click();
    await waitFor('purge refused', async () => (await refusal(page))?.includes('read-only'), 15_000);
    await page.getByRole('button', { name: 'Purge all board.work' }).click();
    await waitFor('purge all refused', async () => (await refusal(page))?.includes('read-only'), 15_000);

    const letters = await s.express.deadLetters('board.work', 'express');
    expect(letters.map((l) => l.taskId)).toEqual([taskId]);
    expect((await s.express.get(taskId))?.status).toBe('dead');
    await page.close();
  });

  describe('security', () => {
    const token = 'board-test-token-0123456789abcdef';

    it('asks for the token when one is set: 401 without, the login form sets a cookie from it', async () => {
      // Bound on every interface: "exposed", so the token is what keeps strangers out.
      const s = await stack('token', { host: '0.0.0.0', token });
      const bare = await fetch(`${s.url}/board`);
      expect(bare.status).toBe(401);
      expect((await fetch(`${s.url}/board/events`)).status).toBe(401);
      const wrong = await fetch(`${s.url}/board`, {
        headers: { authorization: 'Bearer not-the-token-at-all-000' },
      });
      expect(wrong.status).toBe(401);
      const right = await fetch(`${s.url}/board`, { headers: { authorization: `Bearer ${token}` } });
      expect(right.status).toBe(200);

      const page = await browser.context.newPage();
      await page.goto(`${s.url}/board`);
      await page.getByLabel('Token (SAGALANE_MCP_TOKEN)').fill(token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await waitFor(
        'the board after signing in',
        async () => page.getByRole('table', { name: 'express lane' }).isVisible(),
        15_000,
      );
      await page.close();
    });

    it('answers 403 to a wrong Origin and 421 to a foreign Host', async () => {
      const s = await stack('origin');
      const evil = await fetch(`${s.url}/board`, { headers: { origin: 'http://evil.example' } });
      expect(evil.status).toBe(403);
      const post = await fetch(`${s.url}/board/dead/purge`, {
        method: 'POST',
        headers: { origin: 'http://evil.example', 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'board.work', all: true }),
      });
      expect(post.status).toBe(403);
      const status = await new Promise<number>((resolve, reject) =>
        http
          .get(`${s.url}/board`, { headers: { host: 'rebound.example:80' } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject),
      );
      expect(status).toBe(421);
    });

    it('shows a payload holding <script> as text, never runs it', async () => {
      const s = await stack('escape');
      await s.startWorker();
      const note = '<script>window.boardPwned = 1</script><img src=x onerror="window.boardPwned = 2">';
      const taskId = await deadTask(s, 'board.work', { note });
      const page = await open(`${s.url}/board?type=board.work`);
      const payload = page.locator(`#dead tbody tr:has(a:text-is("${taskId}")) pre.payload`);
      expect(await payload.textContent()).toContain(note.replace(/"/g, '\\"'));
      await page.goto(`${s.url}/board/task?id=${encodeURIComponent(taskId)}`);
      expect(await page.getByRole('table', { name: 'Task record' }).isVisible()).toBe(true);
      expect(await page.evaluate(() => (globalThis as { boardPwned?: number }).boardPwned)).toBeUndefined();
      expect(await page.locator('main script, main img').count()).toBe(0);
      await page.close();
    });

    it('refuses a replay without the page’s CSRF token', async () => {
      const s = await stack('csrf');
      await s.startWorker();
      const taskId = await deadTask(s, 'board.work');
      const [letter] = await s.express.deadLetters('board.work', 'express');
      const body = JSON.stringify({ type: 'board.work', lane: 'express', ids: [letter!.id] });
      const headers = { 'content-type': 'application/json' };
      const none = await fetch(`${s.url}/board/dead/replay`, { method: 'POST', headers, body });
      expect(none.status).toBe(403);
      expect(((await none.json()) as { error: string }).error).toMatch(/CSRF/);
      const forged = await fetch(`${s.url}/board/dead/replay`, {
        method: 'POST',
        headers: { ...headers, 'x-csrf-token': 'guessed' },
        body,
      });
      expect(forged.status).toBe(403);
      expect((await s.express.get(taskId))?.status).toBe('dead');
      // With the token the page carries, the same request goes through.
      const html = await (await fetch(`${s.url}/board`)).text();
      const csrf = /name="csrf-token" content="([^"]+)"/.exec(html)![1]!;
      const ok = await fetch(`${s.url}/board/dead/replay`, {
        method: 'POST',
        headers: { ...headers, 'x-csrf-token': csrf },
        body,
      });
      expect(ok.status).toBe(200);
      expect((await s.express.result(taskId, { waitMs: 15_000 })).status).toBe('succeeded');
    });
  });
});

/**
 * The board's sagas section on a real Temporal dev server: a research pipeline waiting for approval
 * (`approval: 'before_backtest'`) is listed with a link to the Temporal UI, approved with the page's button
 * (SagaClient.approve, as the CLI and the MCP tools do), and completes; a read-only board refuses the button.
 */
import type Redis from 'ioredis';
import type { Page } from 'playwright-core';
import { SagaClient } from '../../src/client/saga-client';
import { createTestPipelineActivities } from '../fixtures/test-activities';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, type TemporalTestContext } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { FAST_TUNING, recordingSinks } from '../sagas/saga-test-kit';
import { launchBrowser, startBoardStack, type BoardStack, type Browser } from './board-kit';

describe('lane board: sagas in flight', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  let sagas: SagaClient;
  let browser: Browser;
  const stacks: BoardStack[] = [];
  const keyPrefix = uniquePrefix('board-sagas');
  const taskQueue = uniqueTaskQueue('board-sagas');

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    const agents = createTestPipelineActivities({ redis, keyPrefix, scenarioFor: () => ({}) });
    await ctx.startWorker({ taskQueue, activities: agents.activities, sinks: recordingSinks([]) });
    sagas = new SagaClient(ctx.client, { taskQueue });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    for (const s of stacks) await s.close();
    await ctx.closeAll();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  const awaitingApproval = async () => {
    const { sagaId } = await sagas.startPipeline(
      { idea: 'mean reversion after gaps', symbol: 'BORD', approval: 'before_backtest' },
      { tuning: FAST_TUNING },
    );
    await waitFor(
      'awaiting approval',
      async () => (await sagas.getState(sagaId)).state === 'awaiting_approval',
      30_000,
    );
    return sagaId;
  };
  const open = async (url: string): Promise<Page> => {
    const page = await browser.context.newPage();
    page.on('dialog', (d) => void d.accept());
    await page.goto(url);
    return page;
  };
  const sagaRow = (page: Page, sagaId: string) => page.locator(`#sagas tr[data-saga="${sagaId}"]`);

  it('approves a saga awaiting approval from the page; it completes', async () => {
    const s = await startBoardStack(`${keyPrefix}:rw`, { sagas: async () => sagas });
    stacks.push(s);
    const sagaId = await awaitingApproval();
    const page = await open(`${s.url}/board`);
    const row = sagaRow(page, sagaId);
    // Visibility is eventually consistent: the live stream brings the row once the list has it.
    await waitFor(
      'the saga listed as awaiting approval',
      async () => (await row.textContent())?.includes('awaiting approval'),
      30_000,
    );
    const href = await row.getByRole('link', { name: sagaId, exact: true }).getAttribute('href');
    expect(href).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:8233/namespaces/default/workflows/${sagaId}/[0-9a-f-]+/history$`),
    );

    await row.getByRole('button', { name: `Approve ${sagaId}` }).click();
    await waitFor(
      'approval confirmed',
      async () => (await page.locator('#status').textContent())?.startsWith(`Approved ${sagaId}`),
      15_000,
    );
    const result = await sagas.result(sagaId);
    expect(result.sagaId).toBe(sagaId);
    const final = await sagas.getState(sagaId);
    expect(final.state).toBe('completed');
    expect(final.steps.find((st) => st.approval)?.approval).toMatchObject({
      decision: 'approved',
      approver: 'lane board',
    });

    // The saga's own page: its state and steps, linked from the list.
    await page.goto(`${s.url}/board/saga?id=${encodeURIComponent(sagaId)}`);
    expect(await page.locator('[data-field="saga-state"]').textContent()).toBe('completed');
    const steps = page.getByRole('table', { name: 'Steps' });
    for (const step of ['reasoning', 'codegen', 'ml', 'backtest'])
      expect(await steps.locator(`tr:has(th:text-is("${step}"))`).textContent()).toContain('completed');
    await page.close();
  });

  it('refuses Approve in read-only mode; the saga keeps waiting', async () => {
    const s = await startBoardStack(`${keyPrefix}:ro`, { sagas: async () => sagas, readOnly: true });
    stacks.push(s);
    const sagaId = await awaitingApproval();
    const page = await open(`${s.url}/board`);
    const row = sagaRow(page, sagaId);
    await waitFor('the saga listed', async () => (await row.count()) === 1, 30_000);
    await row.getByRole('button', { name: `Approve ${sagaId}` }).click();
    await waitFor(
      'approval refused',
      async () =>
        (await page.locator('#status[role="alert"]').textContent({ timeout: 1000 }))?.includes('read-only'),
      15_000,
    );
    expect((await sagas.getState(sagaId)).state).toBe('awaiting_approval');
    await sagas.reject(sagaId, { reason: 'test over' });
    await page.close();
  });
});

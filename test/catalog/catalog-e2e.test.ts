/**
 * A user's saga served from its one declaration (test/fixtures/ticket-saga), against the real dev server and Redis:
 * the saga worker takes its workflows and dispatch activities from the catalog, the lane worker its step types (with
 * the user's handlers), the client and the CLI start it by type. Steps run on the lanes the declaration and the saga's
 * priority choose, a three-argument step gets all three arguments on the lane, the approval gate and the rollback work.
 */
import path from 'node:path';
import type Redis from 'ioredis';
import { SagaClient } from '../../src/client/saga-client';
import { loadConfig } from '../../src/config';
import { InvalidSagaInputError, SagaCatalogError, UnknownSagaTypeError } from '../../src/catalog/errors';
import { createLogger } from '../../src/logger';
import { startExpressWorker, type RunningExpressWorker } from '../../src/runtime/express-worker';
import { startSagaWorker, type SagaWorkerHandle } from '../../src/runtime/saga-worker';
import { catalog, supportTicketSaga, ticketKeys, ticketStepHandlers } from '../fixtures/ticket-saga/sagas';
import type { Ticket, TicketResult } from '../fixtures/ticket-saga/steps';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { ExpressClient } from '../../src/lane/express-client';
import { stepTaskSchemas } from '../../src/dispatch/activity-step-contract';
import { runSagalane } from '../front/front-kit';

// Bundling the user's workflows at start-up takes seconds, more on a loaded box.
jest.setTimeout(180_000);

const sagasModule = path.resolve(__dirname, '..', 'fixtures', 'ticket-saga', 'sagas.ts');

describe('a catalog saga through every worker and front door', () => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  let sagaWorker: SagaWorkerHandle;
  let laneWorker: RunningExpressWorker;
  let sagas: SagaClient;
  const prefix = uniquePrefix('catalog-e2e');
  const taskQueue = uniqueTaskQueue('catalog-e2e');
  const keys = ticketKeys(prefix);
  const config = loadConfig({
    ...process.env,
    REDIS_URL: redisUrl(),
    SAGALANE_KEY_PREFIX: prefix,
    TEMPORAL_ADDRESS: temporalAddress(),
    SAGALANE_TASK_QUEUE: taskQueue,
    SAGALANE_STEP_DISPATCH: 'lane',
  });

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    sagaWorker = await startSagaWorker({
      config,
      catalog,
      taskQueue,
      logger: createLogger('silent'),
    });
    laneWorker = await startExpressWorker({
      config,
      catalog,
      stepHandlers: ticketStepHandlers({ redis, prefix }),
      logger: createLogger('silent'),
    });
    sagas = new SagaClient(ctx.client, { taskQueue, catalog });
  });

  afterAll(async () => {
    await laneWorker?.stop();
    await sagaWorker?.stop();
    await ctx?.closeAll();
    await deleteKeys(redis, prefix);
    redis?.disconnect();
  });

  const ticket = (id: string, extra: Partial<Ticket> = {}): Ticket => ({
    ticketId: id,
    customer: 'Ada',
    subject: 'Charged twice',
    body: 'My invoice shows a second charge, please refund it.',
    ...extra,
  });

  it('starts by type, runs every step as a lane task on its declared lane, and passes every argument', async () => {
    const started = await sagas.start('supportTicket', ticket('t-100'));
    expect(started.sagaId).toMatch(/^ticket-t-100-/);
    const result = await sagas.result<TicketResult>(started.sagaId);
    expect(result).toEqual({
      ticketId: 't-100',
      category: 'billing',
      reply: expect.stringContaining('Dear Ada,') as string,
    });
    const state = await sagas.getState<TicketResult, string>(started.sagaId);
    expect(state.workflowType).toBe('supportTicket');
    // classify is declared express; the others run on the saga's (standard) priority's lane.
    expect(state.steps.map((s) => [s.name, s.status, s.lane])).toEqual([
      ['classify', 'completed', 'express'],
      ['draftReply', 'completed', 'standard'],
      ['postReply', 'completed', 'standard'],
    ]);
    for (const step of state.steps) expect(step.taskId).toEqual(expect.any(String));
    // draftReply(ticket, classification, tone): the lane handler got the two arguments after the first.
    const args = JSON.parse((await redis.get(keys.args('t-100')))!) as unknown[];
    expect(args).toEqual([
      { ticketId: 't-100', category: 'billing', matched: ['invoice', 'refund', 'charge', 'charged'] },
      'formal',
    ]);
    expect(await redis.lrange(keys.outbox, 0, -1)).toContainEqual(
      JSON.stringify({ ticketId: 't-100', text: result.reply }),
    );
  });

  it('lists sagas of several types at once (what the lane board shows)', async () => {
    const started = await sagas.start('supportTicket', ticket('t-list'));
    await sagas.result(started.sagaId);
    const ids = await waitFor('the saga in visibility', async () => {
      const page = await sagas.list({ types: ['researchPipeline', 'supportTicket'], pageSize: 100 });
      const found = page.items.map((i) => i.sagaId);
      return found.includes(started.sagaId) && found;
    });
    expect(ids).toContain(started.sagaId);
    await expect(sagas.list({ types: ['supportTicket'], type: 'supportTicket' })).rejects.toThrow(
      /one of type and types/,
    );
  });

  it("an urgent ticket's steps all go on the express lane (its priority, from the declaration)", async () => {
    const started = await sagas.start(supportTicketSaga, ticket('t-101', { urgent: true }));
    await sagas.result(started.sagaId);
    const state = await sagas.getState(started.sagaId);
    expect(state.steps.map((s) => s.lane)).toEqual(['express', 'express', 'express']);
  });

  it('waits at its approval gate; a rejection rolls back every step that ran', async () => {
    const approved = await sagas.start('supportTicket', ticket('t-102', { approval: true }));
    await waitFor('the saga to await approval', async () => {
      const s = await sagas.getState<unknown, string>(approved.sagaId);
      return s.state === 'awaiting_approval' && s;
    });
    expect(await redis.lrange(keys.outbox, 0, -1)).not.toContainEqual(expect.stringContaining('t-102'));
    await sagas.approve(approved.sagaId, { approver: 'lead' });
    await sagas.result(approved.sagaId);
    expect(await redis.lrange(keys.outbox, 0, -1)).toContainEqual(expect.stringContaining('"t-102"'));

    const rejected = await sagas.start(
      'supportTicket',
      ticket('t-103', { approval: true, subject: 'App crash', body: 'It shows an error.' }),
    );
    await waitFor('the saga to await approval', async () => {
      const s = await sagas.getState<unknown, string>(rejected.sagaId);
      return s.state === 'awaiting_approval' && s;
    });
    expect(await redis.get(keys.label('t-103'))).toBe('technical');
    await sagas.reject(rejected.sagaId, { reason: 'wrong tone' });
    await expect(sagas.result(rejected.sagaId)).rejects.toThrow(/rolled_back/);
    const state = await sagas.getState<unknown, string>(rejected.sagaId);
    expect(state.compensations.map((c) => [c.step, c.status, c.lane])).toEqual([
      ['draftReply', 'completed', 'express'],
      ['classify', 'completed', 'express'],
    ]);
    expect(await redis.get(keys.label('t-103'))).toBeNull();
    expect(await redis.get(keys.draft('t-103'))).toBeNull();
  });

  it('a step cancelled mid-run still names the lane task that ran it', async () => {
    const started = await sagas.start('supportTicket', ticket('t-104', { body: 'Please HOLD this.' }));
    const running = await waitFor('draftReply to run on the lane', async () => {
      const s = await sagas.getState<unknown, string>(started.sagaId);
      return s.steps.find((step) => step.name === 'draftReply' && step.status === 'running');
    });
    expect(running.taskId).toBeUndefined();
    await sagas.cancel(started.sagaId, 'customer withdrew');
    await expect(sagas.result(started.sagaId)).rejects.toThrow(/rolled_back/);
    const state = await sagas.getState<unknown, string>(started.sagaId);
    const draft = state.steps.find((s) => s.name === 'draftReply')!;
    expect(draft).toMatchObject({
      status: 'cancelled',
      lane: 'standard',
      taskId: expect.any(String) as string,
    });
    // The lane task it names is the one that ran the step, and it ended by reporting the cancellation.
    const express = new ExpressClient({
      types: stepTaskSchemas(Object.keys(catalog.dispatchSteps())),
      redisUrl: redisUrl(),
      keyPrefix: prefix,
    });
    try {
      const task = await waitFor('the lane task to end', async () => {
        const t = await express.get(draft.taskId!);
        return t?.status === 'succeeded' && t;
      });
      expect(task).toMatchObject({ type: 'step.draftReply', result: { activity: 'cancelled' } });
    } finally {
      await express.close();
    }
  });

  it('refuses an unknown type or a bad input before starting anything, naming the types or the field', async () => {
    await expect(sagas.start('bookTrip', {})).rejects.toThrow(UnknownSagaTypeError);
    await expect(sagas.start('bookTrip', {})).rejects.toThrow(/known types are supportTicket/);
    const bad = sagas.start('supportTicket', { ...ticket('bad id!'), extra: 1 });
    await expect(bad).rejects.toThrow(InvalidSagaInputError);
    await expect(sagas.start('supportTicket', { ...ticket('bad id!') })).rejects.toThrow(
      /ticketId: letters, digits and -/,
    );
  });

  it('a lane worker missing a step handler does not start, and says which', async () => {
    const { retractReply: _missing, ...handlers } = ticketStepHandlers({ redis, prefix });
    await expect(
      startExpressWorker({ config, catalog, stepHandlers: handlers, logger: createLogger('silent') }),
    ).rejects.toThrow(
      new SagaCatalogError(
        'lane worker step handlers: no handler for the compensation retractReply of step postReply of saga supportTicket',
      ),
    );
  });

  it('the CLI lists the type, starts it from JSON and lists it by type (SAGALANE_SAGAS)', async () => {
    const env = {
      ...process.env,
      SAGALANE_SAGAS: sagasModule,
      TEMPORAL_ADDRESS: temporalAddress(),
      SAGALANE_TASK_QUEUE: taskQueue,
      REDIS_URL: redisUrl(),
      SAGALANE_KEY_PREFIX: prefix,
    };
    const types = await runSagalane(env, ['saga', 'types', '--json']);
    expect(types.code).toBe(0);
    expect(JSON.parse(types.stdout)).toEqual([
      expect.objectContaining({
        type: 'supportTicket',
        tool: 'start_support_ticket',
        approvals: ['approve_reply'],
        inputSchema: expect.objectContaining({
          required: ['ticketId', 'customer', 'subject', 'body'],
        }) as unknown,
      }),
    ]);
    const input = JSON.stringify(
      ticket('t-cli', { subject: 'Login error', body: 'I get an error at login.' }),
    );
    const run = await runSagalane(env, [
      'saga',
      'start',
      'supportTicket',
      '--input',
      input,
      '--wait',
      '--json',
    ]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    const final = JSON.parse(run.stdout) as { sagaId: string; state: string; result: TicketResult };
    expect(final.state).toBe('completed');
    expect(final.result.category).toBe('technical');
    const list = await runSagalane(env, [
      'saga',
      'list',
      '--type',
      'supportTicket',
      '--json',
      '--page-size',
      '100',
    ]);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { items: { sagaId: string }[] }).items.map((i) => i.sagaId)).toContain(
      final.sagaId,
    );
    // lane stats shows the catalog's step types beside the task types.
    const stats = await runSagalane(env, ['lane', 'stats', '--json']);
    expect(stats.code).toBe(0);
    const statTypes = new Set((JSON.parse(stats.stdout) as { type: string }[]).map((s) => s.type));
    for (const t of ['echo', 'step.classify', 'step.unclassify', 'step.retractReply'])
      expect(statTypes).toContain(t);
    const unknown = await runSagalane(env, ['saga', 'start', 'bookTrip', '--input', '{}']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Unknown saga type "bookTrip": the known types are supportTicket/);
    const invalid = await runSagalane(env, ['saga', 'start', 'supportTicket', '--input', '{"ticketId":"x"}']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/customer: Invalid input/);
  });
});

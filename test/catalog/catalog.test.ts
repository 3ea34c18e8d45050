/**
 * The saga catalog's pure logic: declarations checked at definition, one place for the steps (dispatch and lane step
 * types derived from it), input errors that name the field and the rule, unknown types that name the known ones.
 */
import { z } from 'zod';
import { sagaCatalog, dispatchStepsOf } from '../../src/catalog/catalog';
import { defineSaga, snakeCase } from '../../src/catalog/define-saga';
import { InvalidSagaInputError, SagaCatalogError, UnknownSagaTypeError } from '../../src/catalog/errors';
import { catalogStepTypes } from '../../src/catalog/step-types';
import { sagaSteps } from '../../src/workflows/saga-steps';
import { PIPELINE_DISPATCH_STEPS } from '../../src/activities/research/pipeline-dispatch-steps';
import { BUILTIN_SAGA_CATALOG } from '../../src/workflows/research/research-pipeline-saga';
import type { AsyncCompletionClient } from '@temporalio/client';

const ticketSteps = sagaSteps({
  classify: { compensation: 'unclassify', lane: 'express' },
  draftReply: { compensation: 'discardDraft' },
  postReply: { compensation: 'retractReply' },
});

const ticket = defineSaga({
  type: 'supportTicket',
  description: 'Classifies a ticket, drafts a reply and posts it after approval.',
  input: z.object({
    ticketId: z.string().min(1),
    body: z.string().max(100),
    urgent: z.boolean().default(false),
  }),
  steps: ticketSteps,
  approvals: ['approve_reply'],
});

const refund = defineSaga({
  type: 'refundOrder',
  description: 'Refunds an order.',
  input: z.object({ orderId: z.string() }),
  steps: sagaSteps({ refund: { compensation: 'chargeBack' } }),
});

// Handlers are never run here: catalogStepTypes only builds the types.
const completion = {} as AsyncCompletionClient;
const noop = async () => undefined;

describe('defineSaga', () => {
  it('derives the MCP tool name and the input JSON Schema (2020-12) from the declaration', () => {
    expect(ticket.toolName).toBe('start_support_ticket');
    expect(snakeCase('researchPipeline')).toBe('research_pipeline');
    expect(snakeCase('HTTPFetch')).toBe('http_fetch');
    expect(ticket.inputJsonSchema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      required: ['ticketId', 'body'],
    });
  });

  it('refuses a bad declaration with every problem named', () => {
    expect(() =>
      defineSaga({
        type: '9lives',
        description: ' ',
        input: z.object({}),
        steps: { 'bad-name': {}, ok: { compensation: 'ok' } },
      }),
    ).toThrow(
      /type "9lives".*description: say.*step "bad-name".*the compensation of ok reuses the activity type ok of step ok/,
    );
    expect(() => sagaSteps({})).toThrow('a saga declares at least one step');
    expect(() =>
      defineSaga({
        type: 'x',
        description: 'x',
        input: { parse: () => ({}) } as never,
        steps: sagaSteps({ a: {} }),
      }),
    ).toThrow('saga x: input: a zod schema of the saga input');
    expect(() =>
      defineSaga({
        type: 'x',
        description: 'x',
        input: z.object({ when: z.date() }),
        steps: sagaSteps({ a: {} }),
      }),
    ).toThrow(/input: cannot be described as JSON Schema/);
  });
});

describe('SagaCatalog', () => {
  const catalog = sagaCatalog([ticket, refund]);

  it('names the known types for an unknown one', () => {
    expect(() => catalog.get('bookTrip')).toThrow(UnknownSagaTypeError);
    expect(() => catalog.get('bookTrip')).toThrow(/known types are supportTicket, refundOrder/);
    expect(catalog.byToolName('start_refund_order')?.type).toBe('refundOrder');
  });

  it('checks input against the type schema, naming the field and the rule, and applies defaults', () => {
    expect(catalog.parseInput('supportTicket', { ticketId: 't1', body: 'hi' })).toEqual({
      ticketId: 't1',
      body: 'hi',
      urgent: false,
    });
    let error: unknown;
    try {
      catalog.parseInput('supportTicket', { ticketId: '', body: 'x'.repeat(101) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidSagaInputError);
    expect((error as InvalidSagaInputError).issues.map((i) => i.field)).toEqual(['ticketId', 'body']);
    expect((error as Error).message).toMatch(/ticketId: .*>=1 characters.*body: .*<=100 characters/);
  });

  it('refuses a duplicate type or an activity type two sagas declare', () => {
    expect(() => sagaCatalog([ticket, ticket])).toThrow(/the saga type supportTicket is declared twice/);
    const clash = defineSaga({
      type: 'other',
      description: 'x',
      input: z.object({}),
      steps: sagaSteps({ classify: {} }),
    });
    expect(() => sagaCatalog([ticket, clash])).toThrow(
      /the activity type classify is declared by supportTicket and by other/,
    );
  });

  it('derives the dispatch of every step and compensation: declared lane, compensations always express', () => {
    expect(catalog.dispatchSteps()).toEqual({
      classify: { lane: 'express' },
      unclassify: { compensation: true },
      draftReply: { lane: 'standard' },
      discardDraft: { compensation: true },
      postReply: { lane: 'standard' },
      retractReply: { compensation: true },
      refund: { lane: 'standard' },
      chargeBack: { compensation: true },
    });
  });

  it("the research pipeline's dispatch comes from its one steps declaration", () => {
    expect(Object.keys(PIPELINE_DISPATCH_STEPS).sort()).toEqual(
      [
        'reasoning',
        'codegen',
        'ml',
        'backtest',
        'compensateReasoning',
        'compensateCodegen',
        'compensateMl',
        'compensateBacktest',
      ].sort(),
    );
    expect(PIPELINE_DISPATCH_STEPS).toEqual(BUILTIN_SAGA_CATALOG.dispatchSteps());
    expect(dispatchStepsOf(ticketSteps).unclassify).toEqual({ compensation: true });
    expect(BUILTIN_SAGA_CATALOG.describe()[0]).toMatchObject({
      type: 'researchPipeline',
      tool: 'start_pipeline',
      approvals: ['approve_backtest'],
    });
  });
});

describe('catalogStepTypes (lane worker side)', () => {
  const catalog = sagaCatalog([ticket, refund]);
  const handlers = Object.fromEntries(catalog.stepActivities.map((a) => [a.activityType, noop]));

  it('makes one step.<activity> type per step and compensation, on the declared lane', () => {
    const types = catalogStepTypes(catalog, handlers, { completion });
    expect(types.map((t) => [t.name, t.defaults.lane])).toEqual([
      ['step.classify', 'express'],
      ['step.unclassify', 'express'],
      ['step.draftReply', 'standard'],
      ['step.discardDraft', 'express'],
      ['step.postReply', 'standard'],
      ['step.retractReply', 'express'],
      ['step.refund', 'standard'],
      ['step.chargeBack', 'express'],
    ]);
    expect(
      catalogStepTypes(catalog, handlers, { completion, sagas: ['refundOrder'] }).map((t) => t.name),
    ).toEqual(['step.refund', 'step.chargeBack']);
  });

  it('stops at start-up on a step without a handler or a handler for no step', () => {
    const { retractReply: _dropped, ...partial } = handlers;
    expect(() => catalogStepTypes(catalog, partial, { completion })).toThrow(
      new SagaCatalogError(
        'lane worker step handlers: no handler for the compensation retractReply of step postReply of saga supportTicket',
      ),
    );
    expect(() => catalogStepTypes(catalog, { ...handlers, sendFax: noop }, { completion })).toThrow(
      /a handler for sendFax, which no catalog saga declares/,
    );
    expect(() => catalogStepTypes(catalog, handlers, { completion, sagas: ['nope'] })).toThrow(
      UnknownSagaTypeError,
    );
  });
});

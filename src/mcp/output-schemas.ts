/**
 * The `outputSchema` of every tool: zod schemas of the shapes the typed clients return (`SagaStateView`,
 * `SagaPage<SagaSummary>`, `TaskInfo`, `LaneStats`, …). The type assertions at the bottom make the compiler check
 * that each client type fits its schema, so a field added to a client cannot silently break `structuredContent`
 * validation. Objects are loose (`z.looseObject`): a newer client may add fields, and unknown saga states
 * (a user's own saga names its steps) are plain strings.
 */
import { z } from 'zod';
import type { SagaPage, SagaSummary, CancelOutcome, StartedSaga } from '../client/saga-client';
import type { HistoryEventSummary } from '../client/history-events';
import type { LaneStats, TaskInfo } from '../lane/express-client';
import type { SagaStateView } from '../workflows/saga-contract';

const stepRecord = z.looseObject({
  name: z.string(),
  status: z.string().describe('running, completed, failed or cancelled'),
  attempts: z.number().int(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
});

const compensationRecord = z.looseObject({
  step: z.string(),
  status: z.string().describe('completed or failed'),
  error: z.string().optional(),
});

const sagaError = z.looseObject({
  message: z.string(),
  step: z.string().optional(),
  reason: z.string().describe('step_failed, cancelled or timeout'),
  cancelReason: z.string().optional(),
});

export const sagaStateOutput = z.looseObject({
  sagaId: z.string(),
  runId: z.string(),
  workflowType: z.string(),
  state: z
    .string()
    .describe(
      'pending, reasoning, codegen, ml, backtest, completed, compensating, rolled_back or failed (a saga of your ' +
        'own names its steps)',
    ),
  currentStep: z.string().optional(),
  steps: z.array(stepRecord),
  compensations: z.array(compensationRecord),
  error: sagaError.optional(),
  // Any JSON value: a saga of your own may return an array, a string or null (docs/SAGAS.md's bookTrip: an array).
  result: z
    .unknown()
    .optional()
    .describe(
      "The saga's result once completed, any JSON value (a research pipeline's: plan, artifacts, params, " +
        'backtest metrics)',
    ),
});

/** start_pipeline: the started saga at once, or its final state when the call waited. */
export const startPipelineOutput = sagaStateOutput.partial().extend({
  sagaId: z.string(),
  runId: z.string(),
  next: z.string().optional().describe('What to call next'),
});

const sagaSummary = z.looseObject({
  sagaId: z.string(),
  runId: z.string(),
  workflowType: z.string(),
  status: z.string().describe('Temporal execution status: RUNNING, COMPLETED, FAILED, …'),
  state: z.string().optional(),
  step: z.string().optional(),
  startTime: z.string(),
  closeTime: z.string().optional(),
  idea: z.string().optional(),
  symbol: z.string().optional(),
});

export const sagaListOutput = z.looseObject({
  items: z.array(sagaSummary),
  nextPageToken: z.string().optional(),
});

export const cancelOutput = z.looseObject({
  accepted: z.boolean(),
  state: z.string().describe('The state when the cancel was accepted; the rollback follows'),
});

const historyEvent = z.looseObject({
  eventId: z.number().int(),
  time: z.string(),
  type: z.string(),
  activityType: z.string().optional(),
  workflowType: z.string().optional(),
  name: z.string().optional(),
  failure: z.string().optional(),
  searchAttributes: z.record(z.string(), z.unknown()).optional(),
  scheduledEventId: z.number().int().optional(),
  payloads: z.record(z.string(), z.unknown()).optional(),
});

export const historyOutput = z.looseObject({
  items: z.array(historyEvent),
  nextPageToken: z.string().optional(),
});

export const taskInfoOutput = z.looseObject({
  taskId: z.string(),
  type: z.string(),
  lane: z.string().describe('express or standard'),
  status: z
    .string()
    .describe(
      'queued (waiting, also between a failed attempt and its retry: error shows the last failure), running, ' +
        'succeeded, dead (gave up after maxAttempts)',
    ),
  attempts: z.number().int(),
  maxAttempts: z.number().int(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  submittedAt: z.number(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  next: z.string().optional().describe('What to call next'),
  note: z.string().optional(),
});

const laneStats = z.looseObject({
  type: z.string(),
  lane: z.string(),
  length: z.number().int(),
  pending: z.number().int(),
  lag: z.number().int(),
  consumers: z.number().int(),
  deadLetters: z.number().int(),
  delayed: z.number().int(),
});

export const laneStatsOutput = z.looseObject({ lanes: z.array(laneStats) });

// Compile-time checks: each client type is assignable to its schema's type.
// Loose objects carry an index signature that interfaces lack, so it is dropped (at every depth) before comparing.
type Known<T> = T extends readonly (infer E)[]
  ? Known<E>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]: Known<T[K]> }
    : T;
type Fits<Client, Schema extends z.ZodType> = Client extends Known<z.input<Schema>> ? true : never;
const fits: [
  Fits<SagaStateView, typeof sagaStateOutput>,
  Fits<StartedSaga & { next: string }, typeof startPipelineOutput>,
  Fits<SagaPage<SagaSummary>, typeof sagaListOutput>,
  Fits<CancelOutcome, typeof cancelOutput>,
  Fits<SagaPage<HistoryEventSummary>, typeof historyOutput>,
  Fits<TaskInfo, typeof taskInfoOutput>,
  Fits<{ lanes: LaneStats[] }, typeof laneStatsOutput>,
] = [true, true, true, true, true, true, true];
void fits;

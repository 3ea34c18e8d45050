/**
 * The public face of the research pipeline: its input schema, names and result (the `state` query's shape and the
 * cancel update/signal every saga shares are `sagalane/workflows`'). Clients (SagaClient, MCP, CLI) import this module. Workflow code does not: it imports the zod-free `./pipeline-definitions` (re-exported
 * here) and validates with `./pipeline-input-validation`, which mirrors the schemas below.
 */
import { z } from 'zod';
import { SAGA_PRIORITIES } from '../public';
import {
  datasetSchema,
  ideaSchema,
  paramsSchema,
  strictSchema,
  symbolSchema,
} from '../../activities/research/agent-schemas';
import { PIPELINE_APPROVALS } from './pipeline-definitions';

export * from './pipeline-definitions';

export const pipelineInputSchema = z
  .object({
    idea: ideaSchema,
    symbol: symbolSchema,
    /** Data set name in `data/` or a path to an OHLCV CSV; default: the symbol's sample set. */
    dataset: datasetSchema.optional(),
    /** Fixed strategy parameters (skip the search). */
    params: paramsSchema.optional(),
    /** Refuse (non-retryable `UnmappableIdea` at reasoning) an idea the planner cannot map. @defaultValue false */
    strict: strictSchema.optional(),
    /** Saga timeout; on expiry the saga rolls back with reason `timeout`. */
    timeoutMs: z.number().int().min(100).max(86_400_000).optional(),
    /**
     * `before_backtest`: after ml the saga waits in `awaiting_approval` for `approve` / `reject`.
     * @defaultValue 'none'
     */
    approval: z.enum(PIPELINE_APPROVALS).optional(),
    /** How long the approval waits before the saga rolls back. @defaultValue 86 400 000 (24 h) */
    approvalTimeoutMs: z.number().int().min(100).max(604_800_000).optional(),
    /**
     * Which lane the saga's steps are dispatched on (lane-dispatching saga workers); compensations always go on the
     * express lane. @defaultValue 'standard'
     */
    priority: z.enum(SAGA_PRIORITIES).optional(),
  })
  .strict();
export type PipelineInput = z.infer<typeof pipelineInputSchema>;

/**
 * Workflow id of a research pipeline: `pipeline-<symbol>-<uuid>`. The uuid comes from the caller (a workflow must
 * not make one up), so starting twice with the same id finds the running saga instead of starting a second one.
 */
export function pipelineWorkflowId(symbol: string, uuid: string = globalThis.crypto.randomUUID()): string {
  const parsed = pipelineInputSchema.shape.symbol.safeParse(symbol);
  if (!parsed.success)
    throw new Error(`invalid symbol ${JSON.stringify(symbol)}: ${parsed.error.issues[0]?.message}`);
  return `pipeline-${parsed.data}-${uuid}`;
}

/**
 * Optional second argument of `researchPipeline`: operational knobs that are not part of the research request. Tests
 * shorten heartbeat and retry timings with it so a dead worker is noticed in seconds; production uses the defaults.
 */
export const pipelineTuningSchema = z
  .object({
    /** Heartbeat timeout of the long steps (ml, backtest). @defaultValue 30 s */
    heartbeatTimeoutMs: z.number().int().min(100).max(3_600_000).optional(),
    /** First retry delay of a failed step. @defaultValue 1 s */
    retryInitialIntervalMs: z.number().int().min(10).max(600_000).optional(),
    /** Attempts per step, retries included. @defaultValue 3 */
    stepMaximumAttempts: z.number().int().min(1).max(100).optional(),
    /** Attempts per compensation, retries included. @defaultValue 5 */
    compensationMaximumAttempts: z.number().int().min(1).max(100).optional(),
  })
  .strict();
export type PipelineTuning = z.infer<typeof pipelineTuningSchema>;

const answerText = z.string().trim().max(2000, 'at most 2000 characters').optional();
/** `approve` as clients send it (SagaClient, CLI, MCP); the workflow's update validator checks the same shape. */
export const approveInputSchema = z.object({ approver: answerText, comment: answerText }).strict();
/** `reject` as clients send it. */
export const rejectInputSchema = z.object({ reason: answerText, approver: answerText }).strict();

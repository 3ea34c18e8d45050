/**
 * The agents' input schemas: one zod schema per input rule, reused by the agents, the express lane's agent task
 * types, the pipeline contract (and through it the MCP tools, the CLI and SagaClient).
 */
import { z } from 'zod';
import { InvalidAgentInputError } from './errors';
import { SYMBOL_PATTERN, SYMBOL_RULE } from './input-rules';
import { describeIssues, strategyPlanSchema } from './strategy-plan';

export const symbolSchema = z.string().trim().regex(SYMBOL_PATTERN, SYMBOL_RULE);
export const ideaSchema = z
  .string()
  .trim()
  .min(3, 'idea must say something (at least 3 characters)')
  .max(2000);
/** Data set name in `data/` or a path to an OHLCV CSV; default: the symbol's sample set. */
export const datasetSchema = z.string().trim().min(1).max(500);
/** Fixed strategy parameters (skip the search). */
export const paramsSchema = z.record(z.string(), z.number().finite());
export const sagaIdSchema = z.string().min(1, 'sagaId must not be empty').max(512);
/** A cost in basis points per unit of position change. */
export const costBpsSchema = z.number().finite().min(0).max(1000);
/** Refuse an idea the planner cannot map (non-retryable `UnmappableIdea`) instead of assuming a default. */
export const strictSchema = z.boolean();
/**
 * Where ml and backtest get the strategy code: the saga's codegen artifact (`artifact`, what a saga does) or
 * sagalane's codegen run afresh on the `plan` in the input (`plan`, for a single lane task). Only code sagalane's own
 * codegen writes ever runs in the sandbox. @defaultValue `artifact`
 */
export const codeFromSchema = z.enum(['artifact', 'plan']);

/** Each agent's input. The lane's payloads are these with `sagaId` optional (./lane agent-task-types). */
export const agentInputSchemas = {
  reasoning: z.object({
    sagaId: sagaIdSchema,
    idea: ideaSchema,
    symbol: symbolSchema,
    strict: strictSchema.optional(),
  }),
  compensateReasoning: z.object({ sagaId: sagaIdSchema, cacheKey: z.string().min(1) }),
  codegen: z.object({ sagaId: sagaIdSchema, plan: strategyPlanSchema }),
  artifact: z.object({ sagaId: sagaIdSchema }),
  ml: z.object({
    sagaId: sagaIdSchema,
    symbol: symbolSchema,
    dataset: datasetSchema.optional(),
    plan: strategyPlanSchema,
    params: paramsSchema.optional(),
    codeFrom: codeFromSchema.optional(),
  }),
  backtest: z.object({
    sagaId: sagaIdSchema,
    symbol: symbolSchema,
    dataset: datasetSchema.optional(),
    params: paramsSchema,
    /** The strategy, when the code comes from the plan (`codeFrom: 'plan'`); else checked against the code's family. */
    plan: strategyPlanSchema.optional(),
    codeFrom: codeFromSchema.optional(),
    costPerTradeBps: costBpsSchema.optional(),
    slippageBps: costBpsSchema.optional(),
  }),
};

/** Parses an agent's input, or throws a non-retryable `InvalidAgentInputError` naming every issue. */
export function parseAgentInput<T>(schema: z.ZodType<T>, input: unknown, step: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new InvalidAgentInputError(`invalid ${step} input: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/**
 * The research agents as express-lane task types: `reasoning`, `codegen`, `ml`, `backtest` (one agent each) and
 * `research` (the four in a row, compensating on failure, no durability: use the saga for that).
 *
 * `agentTaskSchemas` has only names, schemas and defaults, so a producer can validate submissions without
 * loading the agents; `createAgentTaskTypes(deps)` adds the handlers for a worker. A payload's `sagaId` is optional
 * here: without one the task id names the artifacts the agent writes.
 */
import { z } from 'zod';
import {
  agentInputSchemas,
  datasetSchema,
  ideaSchema,
  paramsSchema,
  sagaIdSchema,
  symbolSchema,
} from '../activities/agent-schemas';
import { createAgents, runPipelineInline, type AgentDeps, type AgentHandlers } from '../activities/agents';
import {
  defineTaskType,
  DEFAULT_TASK_TYPE_DEFAULTS,
  type TaskContext,
  type TaskSchema,
  type TaskType,
} from './task-types';

// The activities' own schemas; only the saga id is optional (the task id names the artifacts otherwise).
const sagaId = sagaIdSchema.optional();

export const agentPayloadSchemas = {
  reasoning: agentInputSchemas.reasoning.extend({ sagaId }),
  codegen: agentInputSchemas.codegen.extend({ sagaId }),
  ml: agentInputSchemas.ml.extend({ sagaId }),
  backtest: agentInputSchemas.backtest.extend({ sagaId }),
  research: z.object({
    sagaId,
    idea: ideaSchema,
    symbol: symbolSchema,
    dataset: datasetSchema.optional(),
    params: paramsSchema.optional(),
  }),
};

type AgentTaskName = keyof typeof agentPayloadSchemas;

const agentDefaults: Record<AgentTaskName, Partial<typeof DEFAULT_TASK_TYPE_DEFAULTS>> = {
  reasoning: { lane: 'express', timeoutMs: 30_000 },
  codegen: { lane: 'express', timeoutMs: 30_000 },
  ml: { lane: 'standard', timeoutMs: 300_000 },
  backtest: { lane: 'standard', timeoutMs: 120_000 },
  research: { lane: 'standard', timeoutMs: 600_000 },
};

/** Schema-only entries for producers (ExpressClient `types`). */
export const agentTaskSchemas: TaskSchema[] = (Object.keys(agentPayloadSchemas) as AgentTaskName[]).map(
  (name) => ({
    name,
    schema: agentPayloadSchemas[name] as z.ZodType,
    defaults: { ...DEFAULT_TASK_TYPE_DEFAULTS, ...agentDefaults[name] },
  }),
);

/** Full task types (with handlers) for a worker. */
export function createAgentTaskTypes(deps: AgentDeps): TaskType[] {
  const agents: AgentHandlers = createAgents(deps);
  const call = (ctx: TaskContext) => ({
    signal: ctx.signal,
    onProgress: (p: object) => ctx.progress?.({ ...p }),
  });
  const idOf = (p: { sagaId?: string }, ctx: TaskContext) => p.sagaId ?? `lane-${ctx.taskId}`;
  return [
    defineTaskType({
      name: 'reasoning',
      schema: agentPayloadSchemas.reasoning,
      handler: (p, ctx) => agents.reasoning({ ...p, sagaId: idOf(p, ctx) }, call(ctx)),
      defaults: agentDefaults.reasoning,
    }),
    defineTaskType({
      name: 'codegen',
      schema: agentPayloadSchemas.codegen,
      handler: (p, ctx) => agents.codegen({ ...p, sagaId: idOf(p, ctx) }, call(ctx)),
      defaults: agentDefaults.codegen,
    }),
    defineTaskType({
      name: 'ml',
      schema: agentPayloadSchemas.ml,
      handler: (p, ctx) => agents.ml({ ...p, sagaId: idOf(p, ctx) }, call(ctx)),
      defaults: agentDefaults.ml,
    }),
    defineTaskType({
      name: 'backtest',
      schema: agentPayloadSchemas.backtest,
      handler: (p, ctx) => agents.backtest({ ...p, sagaId: idOf(p, ctx) }, call(ctx)),
      defaults: agentDefaults.backtest,
    }),
    defineTaskType({
      name: 'research',
      schema: agentPayloadSchemas.research,
      handler: (p, ctx) => runPipelineInline(deps, { ...p, sagaId: idOf(p, ctx) }, call(ctx)),
      defaults: agentDefaults.research,
    }),
  ];
}

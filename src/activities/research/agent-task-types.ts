/**
 * The research agents as express-lane task types: `reasoning`, `codegen`, `ml`, `backtest`, one agent each. Their
 * payload schemas are the activities' own (src/activities/research/agent-schemas) without `sagaId`: a lane task's artifacts
 * are its own, named by its task id (`lane-<taskId>`), so whoever can submit a task cannot write (or overwrite) a
 * saga's. A payload naming a `sagaId` is refused. ml and backtest generate their strategy code from the `plan` in the
 * payload (`codeFrom: 'plan'`): a lane task has no codegen step before it.
 *
 * `research` (the four steps in a row) is no longer a lane type: a run of several steps with compensations is a
 * saga. Submitting it is refused with a message pointing at `start_pipeline` / `sagalane pipeline start`.
 *
 * Agent errors that retrying cannot fix carry `nonRetryable: true`, which the lane worker honours (dead-lettered at
 * once with the reason). `agentTaskSchemas` has only names, schemas and defaults, so a producer can validate
 * submissions without loading the agents; `createAgentTaskTypes(deps)` adds the handlers for a worker.
 */
import { z } from 'zod';
import { agentInputSchemas } from './agent-schemas';
import { createAgents, type AgentDeps, type AgentHandlers } from './agents';
import { InvalidAgentInputError } from './errors';
import {
  defineTaskType,
  DEFAULT_TASK_TYPE_DEFAULTS,
  type TaskContext,
  type TaskSchema,
  type TaskType,
} from '../../core';

/** Why a `sagaId` in a lane agent task is refused, for the submit error. */
export const LANE_SAGA_ID_REFUSED =
  "a lane agent task's artifacts are its own (named by its task id), so it takes no sagaId: a saga's artifacts are " +
  'written only by its own steps. Leave sagaId out (ml and backtest take the plan instead)';

// No value passes: present at all, the payload is refused with the reason.
const sagaId = z.never({ error: LANE_SAGA_ID_REFUSED }).optional();
/** A lane task generates its code from its plan; `artifact` would name a codegen artifact it cannot have. */
const codeFrom = z.literal('plan', {
  error: 'a lane task generates its code from its plan: codeFrom is "plan"',
});

/** Why `research` is refused, for the submit error and for a stray task a worker still finds. */
export const RESEARCH_TYPE_GONE =
  'the "research" lane type is gone: a research run is a durable saga now. Start one with the MCP tool ' +
  'start_pipeline or `sagalane pipeline start --idea <idea> --symbol <symbol>`';

const needsPlan = (p: { plan?: unknown }, ctx: z.RefinementCtx) => {
  if (p.plan === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['plan'],
      message: 'a lane backtest needs the plan to generate its strategy code from',
    });
  }
};

export const agentPayloadSchemas = {
  reasoning: agentInputSchemas.reasoning.extend({ sagaId }),
  codegen: agentInputSchemas.codegen.extend({ sagaId }),
  ml: agentInputSchemas.ml.extend({ sagaId, codeFrom: codeFrom.optional() }),
  backtest: agentInputSchemas.backtest
    .extend({ sagaId, codeFrom: codeFrom.optional() })
    .superRefine(needsPlan),
  research: z
    .unknown()
    .superRefine((_, ctx) => ctx.addIssue({ code: 'custom', message: RESEARCH_TYPE_GONE })),
};

type AgentTaskName = keyof typeof agentPayloadSchemas;

const agentDefaults: Record<AgentTaskName, Partial<typeof DEFAULT_TASK_TYPE_DEFAULTS>> = {
  reasoning: { lane: 'express', timeoutMs: 30_000 },
  codegen: { lane: 'express', timeoutMs: 30_000 },
  ml: { lane: 'standard', timeoutMs: 300_000 },
  backtest: { lane: 'standard', timeoutMs: 120_000 },
  research: { lane: 'standard', maxAttempts: 1 },
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
  // The task's own scope, whatever the payload says (the schema refuses a sagaId; a handler called directly, or a task
  // a producer without the schemas enqueued, still gets its own).
  const idOf = (_p: unknown, ctx: TaskContext) => `lane-${ctx.taskId}`;
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
      handler: (p, ctx) => agents.ml({ ...p, sagaId: idOf(p, ctx), codeFrom: 'plan' }, call(ctx)),
      defaults: agentDefaults.ml,
    }),
    defineTaskType({
      name: 'backtest',
      schema: agentPayloadSchemas.backtest,
      handler: (p, ctx) => agents.backtest({ ...p, sagaId: idOf(p, ctx), codeFrom: 'plan' }, call(ctx)),
      defaults: agentDefaults.backtest,
    }),
    defineTaskType({
      name: 'research',
      schema: agentPayloadSchemas.research,
      // Only a task enqueued before the type went (or by a producer without the schemas) reaches this.
      handler: () => Promise.reject(new InvalidAgentInputError(RESEARCH_TYPE_GONE)),
      defaults: agentDefaults.research,
    }),
  ];
}

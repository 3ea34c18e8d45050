/**
 * One start tool per catalog saga, `start_<type in snake case>` (the declaration's `toolName`): its input schema is
 * the declaration's zod schema, its description the declaration's. Like start_pipeline it is task-capable (the MCP
 * task is the saga: same id), a plain call answers at once or, with `wait`, with the final state. The research
 * pipeline keeps its own `start_pipeline` (its declaration names that tool).
 */
import { z } from 'zod';
import type { SagaCatalog } from '../catalog/catalog';
import type { SagaDefinition } from '../catalog/define-saga';
import { startPipelineOutput } from './output-schemas';
import { answerSagaStart, traceparentOf } from './saga-tools';
import { sagaStarts, type ToolDeps } from './tool-context';

/** The resource that lists the catalog: each saga type, its description, start tool, steps and input JSON Schema. */
export const CATALOG_RESOURCE_URI = 'sagalane://catalog';

export const CATALOG_RESOURCE_METADATA = {
  title: 'Saga catalog',
  description:
    'The saga types this server starts: for each its description, start tool (start_<type>), steps with their ' +
    'lanes and compensations, approval gates and input JSON Schema.',
  mimeType: 'application/json',
};

export function catalogResourceContents(catalog: SagaCatalog, uri: URL) {
  return {
    contents: [
      { uri: uri.href, mimeType: 'application/json', text: JSON.stringify(catalog.describe(), null, 2) },
    ],
  };
}

/** The start tools' names, for the read-only rule (they change something). */
export function catalogStartToolNames(catalog: SagaCatalog, skip: readonly string[] = []): string[] {
  return catalog.sagas.map((s) => s.toolName).filter((name) => !skip.includes(name));
}

/** Registers `start_<type>` for every catalog saga whose tool is not in `skip` (tools registered elsewhere). */
export function registerCatalogStartTools(
  deps: ToolDeps,
  catalog: SagaCatalog,
  skip: readonly string[] = [],
): void {
  for (const saga of catalog.sagas) if (!skip.includes(saga.toolName)) registerStartTool(deps, saga);
}

const controls = {
  workflowId: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .describe('Your own saga id, to make the start idempotent; default from the saga type'),
  wait: z
    .boolean()
    .optional()
    .describe('Plain calls only: wait for the saga to finish and return its final state (default false)'),
};

/** An object input's fields are the tool's arguments; any other input goes in an `input` argument. */
function inputShape(saga: SagaDefinition<unknown>): {
  shape: z.ZodRawShape;
  inputOf(args: Record<string, unknown>): unknown;
} {
  const shape = (saga.input as { shape?: unknown }).shape;
  const isObject = saga.input instanceof z.ZodObject || (typeof shape === 'object' && shape !== null);
  if (isObject) {
    const own = shape as z.ZodRawShape;
    const clash = Object.keys(controls).find((k) => k in own);
    if (!clash) return { shape: own, inputOf: (args) => args };
  }
  return { shape: { input: saga.input as z.ZodType }, inputOf: (args) => args.input };
}

function registerStartTool(deps: ToolDeps, saga: SagaDefinition<unknown>): void {
  const { tools, backends } = deps;
  const { shape, inputOf } = inputShape(saga);
  tools.taskTool(
    saga.toolName,
    {
      title: `Start a ${saga.type} saga`,
      description:
        `${saga.description} Starts a durable ${saga.type} saga. A plain call returns sagaId at once (then call ` +
        'get_saga until state is completed, rolled_back or failed); with wait: true it returns the final state. As ' +
        'an MCP task it returns a task whose id is the sagaId. Starting again with the same workflowId while it ' +
        'runs returns the running saga.' +
        (saga.approvals?.length
          ? ` It may wait for approval (${saga.approvals.join(', ')}): answer with approve_saga / reject_saga.`
          : ''),
      inputSchema: { ...shape, ...controls },
      outputSchema: startPipelineOutput,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    {
      start: async (args, call) => {
        const {
          workflowId,
          wait: _wait,
          ...rest
        } = args as Record<string, unknown> & {
          workflowId?: string;
          wait?: boolean;
        };
        const sagas = await backends.sagas();
        const traceparent = traceparentOf(call);
        const started = await sagas.start(saga.type, inputOf(rest), {
          ...(workflowId !== undefined ? { workflowId } : {}),
          ...(traceparent ? { memo: { traceparent } } : {}),
        });
        deps.log('info', `saga ${started.sagaId} started`, { sagaId: started.sagaId, type: saga.type });
        sagaStarts.emit('started', started.sagaId);
        return { kind: 'saga', id: started.sagaId, started };
      },
      answer: (args, work, call) =>
        answerSagaStart(backends, (args as { wait?: boolean }).wait === true, work, call),
      ...(saga.stopsForApproval
        ? {
            stopsForApproval: (args: object) =>
              saga.stopsForApproval!(inputOf(args as Record<string, unknown>)),
          }
        : {}),
    },
  );
}

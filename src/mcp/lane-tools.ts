/**
 * The express-lane tools: submit_task (task-capable), get_task, lane_stats. submit_task's `payload` is described by
 * the task types' own zod schemas (one `anyOf` branch per type), the ones the lane validates submissions with.
 */
import { z } from 'zod';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { TaskNotFoundError } from '../lane/errors';
import { LANES } from '../lane/keys';
import type { TaskSchema } from '../lane/task-types';
import { laneInfoResult, laneOutcome } from './outcomes';
import { laneStatsOutput, taskInfoOutput } from './output-schemas';
import type { ToolDeps } from './tool-context';
import { okResult, runTool, runToolResult } from './tool-results';
import { waitForLaneTask } from './waiting';

const STATUS_TEXT =
  'queued (waiting; also between a failed attempt and its retry, with error set to the last failure), running, ' +
  'succeeded, dead (gave up after maxAttempts; error says why)';

const taskIdInput = z.string().min(1).max(600).describe('The taskId submit_task returned (<type>:<uuid>)');

/** One schema branch per task type, so a client sees each type's payload fields. */
export function payloadSchemaOf(types: readonly TaskSchema[]): z.ZodType {
  const branches = types
    .filter((t) => {
      try {
        z.toJSONSchema(t.schema, { io: 'input', unrepresentable: 'throw' });
        return true;
      } catch {
        return false; // a schema JSON Schema cannot express is still checked by the lane on submit
      }
    })
    .map((t) => t.schema.describe(`payload of task type "${t.name}"`));
  const any = z.record(z.string(), z.unknown());
  if (branches.length === 0) return any.describe("The task type's input object");
  return z
    .union([...branches, any.describe('payload of a task type registered elsewhere')] as unknown as [
      z.ZodType,
      z.ZodType,
      ...z.ZodType[],
    ])
    .describe("The task type's input object: one of the branches, by type");
}

export function registerSubmitTask(ctx: ToolDeps, types: readonly TaskSchema[]): void {
  const { tools, backends } = ctx;
  const names = types.map((t) => t.name);
  tools.taskTool(
    'submit_task',
    {
      title: 'Submit an express-lane task',
      description:
        'Use for one quick agent task that needs no rollback or durability (a saga is better for a full research ' +
        `run). Types: ${names.join(', ')}; payload follows the type's schema (see the payload branches). lane ` +
        'express is served before standard. A plain call returns taskId at once, or waits up to waitMs for the ' +
        'result; as an MCP task (params.task) the task id is the lane task id (poll tasks/get, fetch tasks/result; ' +
        'lane tasks cannot be cancelled). A backlog over its limit refuses the submit: retry later.',
      inputSchema: {
        type: z
          .string()
          .min(1)
          .max(100)
          .describe(`Task type: ${names.join(', ')}`),
        payload: payloadSchemaOf(types),
        lane: z.enum(LANES).optional().describe("Default: the type's lane"),
        idempotencyKey: z
          .string()
          .min(1)
          .max(256)
          .optional()
          .describe('Repeating a key returns the first task instead of a new one'),
        waitMs: z
          .number()
          .int()
          .min(0)
          .max(ctx.maxWaitMs)
          .optional()
          .describe('Plain calls only: wait up to this long for the result'),
      },
      outputSchema: taskInfoOutput,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    {
      start: async (args) => {
        const express = await backends.express();
        const { taskId } = await express.submit({
          type: args.type,
          payload: args.payload,
          lane: args.lane,
          idempotencyKey: args.idempotencyKey,
        });
        return { kind: 'lane', id: taskId };
      },
      answer: async (args, work, call) => {
        const express = await backends.express();
        if (!args.waitMs) {
          const info = await express.get(work.id);
          if (!info) throw new TaskNotFoundError(work.id);
          return okResult({ ...info, next: `Call get_task with taskId "${work.id}".` });
        }
        return waitedResult(ctx, work.id, args.waitMs, call);
      },
    },
  );
}

export function registerLaneReadTools(ctx: ToolDeps): void {
  const { tools, backends } = ctx;
  tools.tool(
    'get_task',
    {
      title: 'Get an express-lane task',
      description:
        `Use to check a task submit_task returned: status (${STATUS_TEXT}), attempts, and the result or error. ` +
        'Set waitMs to wait for it to finish in this call (progress notifications per status change if you pass ' +
        'a progressToken).',
      inputSchema: {
        taskId: taskIdInput,
        waitMs: z
          .number()
          .int()
          .min(0)
          .max(ctx.maxWaitMs)
          .optional()
          .describe('Wait up to this long for the result'),
      },
      outputSchema: taskInfoOutput,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args, extra) =>
      runToolResult(async () => {
        if (args.waitMs) return waitedResult(ctx, args.taskId, args.waitMs, extra);
        const info = await (await backends.express()).get(args.taskId);
        if (!info) throw new TaskNotFoundError(args.taskId);
        return okResult(info);
      }, ctx.failed('get_task')),
  );

  tools.tool(
    'lane_stats',
    {
      title: 'Express-lane statistics',
      description:
        'Use to see how busy the express lane is: per task type and lane, the backlog (length, lag), tasks in ' +
        'flight (pending), consumers (workers), delayed retries and dead letters. lag growing with consumers 0 ' +
        'means no worker is running.',
      inputSchema: {
        types: z.array(z.string().min(1).max(100)).max(50).optional().describe('Task types; default all'),
      },
      outputSchema: laneStatsOutput,
      annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      runTool(
        async () => ({ lanes: await (await backends.express()).stats(args.types) }),
        ctx.failed('lane_stats'),
      ),
  );
}

/** A waited lane call: progress per status change, then the same answer a task's tasks/result gives. */
async function waitedResult(
  ctx: ToolDeps,
  taskId: string,
  waitMs: number,
  extra: Parameters<typeof waitForLaneTask>[3],
): Promise<CallToolResult> {
  const express = await ctx.backends.express();
  const info = await waitForLaneTask(express, taskId, waitMs, extra);
  if (!info) throw new TaskNotFoundError(taskId);
  if (info.status === 'succeeded' || info.status === 'dead') return laneInfoResult(info);
  return laneOutcome(express, taskId, 0);
}

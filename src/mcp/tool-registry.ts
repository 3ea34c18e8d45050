/**
 * The one place a tool is declared, whichever protocol revision serves it. The tool modules (saga-tools.ts,
 * lane-tools.ts) register each tool once on a `ToolRegistry`; two implementations turn that into the SDKs' own
 * registrations: `legacyToolRegistry` (2025-11-25 sessions, @modelcontextprotocol/sdk v1, with its experimental
 * task API for the task-capable tools) and the modern one in modern-server.ts (2026-07-28, @modelcontextprotocol/server
 * v2, with the `io.modelcontextprotocol/tasks` extension). A tool body sees only a `ToolCall`: its abort signal, its
 * progress token and a way to send progress.
 */
import type { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { SagalaneTaskStore } from './task-store';
import type { FailureHandling } from './tool-results';
import { errorResult, runToolResult } from './tool-results';
import type { ProgressChannel } from './waiting';

/** What a tool body gets besides its arguments: the request's signal, progress token and progress sender. */
export type ToolCall = ProgressChannel;

export type ToolShape = z.ZodRawShape;
export type ToolArgs<S extends ToolShape> = z.infer<z.ZodObject<S>>;

export interface ToolConfig<S extends ToolShape> {
  title: string;
  description: string;
  inputSchema: S;
  outputSchema: z.ZodObject;
  annotations: ToolAnnotations;
}

/**
 * The durable work a task-capable tool started: the MCP task is that saga or lane task (same id). `started` is what
 * the start returned, for a plain call's answer.
 */
export interface StartedWork {
  kind: 'saga' | 'lane';
  id: string;
  started?: object;
}

export interface TaskToolHandlers<S extends ToolShape> {
  /** Starts the work (a saga, a lane task). Throws when nothing could be started (bad arguments, backend down). */
  start(args: ToolArgs<S>, call: ToolCall): Promise<StartedWork>;
  /** A plain call's answer once the work started (at once, or after waiting if the arguments ask for it). */
  answer(args: ToolArgs<S>, work: StartedWork, call: ToolCall): Promise<CallToolResult>;
  /**
   * Whether the saga these arguments start waits at an approval gate: a 2026-07-28 plain call then answers
   * `input_required` with the approval once the saga is there (modern-approval.ts).
   */
  stopsForApproval?(args: ToolArgs<S>): boolean;
}

export interface ToolRegistry {
  /** A tool answered within the call. */
  tool<S extends ToolShape>(
    name: string,
    config: ToolConfig<S>,
    run: (args: ToolArgs<S>, call: ToolCall) => Promise<CallToolResult>,
  ): void;
  /** A tool whose call may become an MCP task (the saga or lane task it starts). */
  taskTool<S extends ToolShape>(name: string, config: ToolConfig<S>, handlers: TaskToolHandlers<S>): void;
}

interface LegacyTaskExtra {
  taskId: string;
  taskStore: { getTask(id: string): Promise<unknown>; getTaskResult(id: string): Promise<unknown> };
}

/**
 * Registrations on an SDK v1 server (2025-11-25 and older revisions). A task-capable tool goes through the SDK's
 * experimental task API: a task-augmented call answers the task (id = saga / lane task id) at once; a plain call,
 * which SDK v1 routes through the task store too, is answered here and settled in the store.
 */
export function legacyToolRegistry(
  server: McpServer,
  store: SagalaneTaskStore,
  failed: (tool: string) => FailureHandling,
): ToolRegistry {
  return {
    tool(name, config, run) {
      server.registerTool(name, config, ((args: never, extra: ToolCall) => run(args, extra)) as never);
    },
    taskTool(name, config, handlers) {
      server.experimental.tasks.registerToolTask(
        name,
        { ...config, execution: { taskSupport: 'optional' } },
        // The SDK's handler types are generic over the shape; the bodies below are typed by it too.
        {
          createTask: async (args: never, extra: Parameters<typeof startTask>[2]) =>
            startTask(name, args, extra),
          getTask: async (_args: unknown, extra: LegacyTaskExtra) => extra.taskStore.getTask(extra.taskId),
          getTaskResult: async (_args: unknown, extra: LegacyTaskExtra) =>
            (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
        } as never,
      );

      async function startTask(
        tool: string,
        args: ToolArgs<typeof config.inputSchema>,
        extra: ToolCall & {
          taskStore: {
            createTask(o: { ttl?: number | null; context: unknown }): Promise<{ taskId: string }>;
          };
          taskRequestedTtl?: number | null;
        },
      ) {
        let work: StartedWork;
        try {
          work = await handlers.start(args, extra);
        } catch (err) {
          const handling = failed(tool);
          const description = handling.describe(err);
          handling.report(description);
          const task = await extra.taskStore.createTask({
            context: { kind: 'answered', result: errorResult(description) },
          });
          return { task };
        }
        const task = await extra.taskStore.createTask({
          ttl: extra.taskRequestedTtl,
          context: { kind: work.kind, id: work.id },
        });
        // A task-augmented call: the saga (or lane task) is the task.
        if (task.taskId === work.id) return { task };
        // A plain call (SDK v1 routes it through a task too): answer it here.
        const result = await runToolResult(() => handlers.answer(args, work, extra), failed(tool));
        return { task: store.settle(task.taskId, result) };
      }
    },
  };
}

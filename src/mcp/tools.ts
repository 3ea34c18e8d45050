/**
 * The tool list: the one place every MCP tool is registered, for both protocol revisions (server.ts registers them on
 * the 2025-11-25 session server, modern-server.ts on the 2026-07-28 one, each through its own `ToolRegistry`).
 * New tools (e.g. a start tool per saga type) are added here and reach both revisions.
 */
import { DEFAULT_TASK_SCHEMAS } from '../client/front-door';
import type { TaskSchema } from '../lane/task-types';
import { registerLaneReadTools, registerSubmitTask } from './lane-tools';
import {
  registerApprovalTools,
  registerCancelSaga,
  registerSagaReadTools,
  registerStartPipeline,
} from './saga-tools';
import type { ToolDeps } from './tool-context';

/** Tools that change something; `readOnly` leaves them out. */
export const WRITE_TOOLS = [
  'start_pipeline',
  'cancel_saga',
  'approve_saga',
  'reject_saga',
  'submit_task',
] as const;
/** Tools that only read. */
export const READ_TOOLS = ['get_saga', 'list_sagas', 'get_saga_history', 'get_task', 'lane_stats'] as const;

export interface SagalaneToolsOptions {
  /** Register only the tools that read. */
  readOnly: boolean;
  /** Task types submit_task describes and accepts. @defaultValue DEFAULT_TASK_SCHEMAS */
  taskSchemas?: readonly TaskSchema[];
}

export function registerSagalaneTools(deps: ToolDeps, options: SagalaneToolsOptions): void {
  const { readOnly } = options;
  if (!readOnly) registerStartPipeline(deps);
  registerSagaReadTools(deps);
  if (!readOnly) registerCancelSaga(deps);
  if (!readOnly) registerApprovalTools(deps);
  if (!readOnly) registerSubmitTask(deps, options.taskSchemas ?? DEFAULT_TASK_SCHEMAS);
  registerLaneReadTools(deps);
}

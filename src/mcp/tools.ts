/**
 * The tool list: the one place every MCP tool is registered, for both protocol revisions (server.ts registers them on
 * the 2025-11-25 session server, modern-server.ts on the 2026-07-28 one, each through its own `ToolRegistry`).
 * New tools are added here and reach both revisions; the catalog's start tools come from ./catalog-tools.ts.
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
import type { SagaCatalog } from '../catalog/catalog';
import { RESEARCH_PIPELINE_WORKFLOW } from '../workflows/research/pipeline-definitions';
import { BUILTIN_SAGA_CATALOG } from '../workflows/research/research-pipeline-saga';
import { registerCatalogStartTools } from './catalog-tools';

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
  /**
   * The sagas the start tools start: one `start_<type>` each (the research pipeline's is start_pipeline).
   * @defaultValue the built-in catalog (the research pipeline)
   */
  catalog?: SagaCatalog;
}

export function registerSagalaneTools(deps: ToolDeps, options: SagalaneToolsOptions): void {
  const { readOnly } = options;
  const catalog = options.catalog ?? BUILTIN_SAGA_CATALOG;
  // start_pipeline (with its wait and approval rounds) where the catalog has the pipeline; start_<type> for the others.
  if (!readOnly && catalog.has(RESEARCH_PIPELINE_WORKFLOW)) registerStartPipeline(deps);
  if (!readOnly) registerCatalogStartTools(deps, catalog, ['start_pipeline']);
  registerSagaReadTools(deps);
  if (!readOnly) registerCancelSaga(deps);
  if (!readOnly) registerApprovalTools(deps);
  if (!readOnly) registerSubmitTask(deps, options.taskSchemas ?? DEFAULT_TASK_SCHEMAS);
  registerLaneReadTools(deps);
}

/**
 * `import { SagaClient, ExpressClient, Saga } from 'sagalane'`: the typed clients for embedding sagalane in a
 * service, the saga catalog and Saga helper, the express lane, the workers, the MCP server, and the research
 * pipeline (its contract, agents and catalog entry). Workflow code should import from `sagalane/workflows` instead
 * (deterministic code only, safe to bundle).
 */

// The machinery a saga is built from (catalog, Saga helper and contract, lane, dispatch, config, logger): src/core.ts,
// which is also all the research pipeline's own modules import of sagalane.
export * from './core';

// Sagas: the client and its errors.
export * from './client/saga-client';
export * from './client/errors';
export type { HistoryEventSummary, CutPayload } from './client/history-events';
export {
  openLazyFrontDoor,
  isBackendDown,
  BackendUnavailableError,
  clientTemporalAddress,
  DEFAULT_TASK_SCHEMAS,
  type LazyFrontDoor,
  type LazyFrontDoorOptions,
} from './client/front-door';
export { connectTemporal, connectionSettings, type ConnectionSettings } from './runtime/temporal-connection';
export { loadSagaModule, BUILTIN_SAGA_MODULE, type SagaModule } from './catalog/saga-module';
export {
  stepAttemptActivityInterceptor,
  STEP_ATTEMPT_WORKFLOW_MODULE,
} from './runtime/step-attempt-interceptor';

// The research pipeline: its contract, its catalog entry, its agents and their lane task types.
export * from './workflows/research/pipeline-contract';
export { researchPipelineSaga, BUILTIN_SAGA_CATALOG } from './workflows/research/research-pipeline-saga';
export { createActivities, createAgents, agentDepsFromConfig } from './activities/research';
export type { AgentDeps, AgentHandlers } from './activities/research';
export type { PipelineActivities, StrategyPlan, BacktestMetrics } from './activities/research/contracts';
// The research pipeline's local activities, for a worker created without startSagaWorker (docs/SAGAS.md "Speed").
export { NO_PIPELINE_LOCAL_ACTIVITIES, withPipelineLocalActivities } from './activities/research/local-steps';
export { createPipelineStepTypes } from './activities/research/pipeline-step-types';
export { PIPELINE_DISPATCH_STEPS } from './activities/research/pipeline-dispatch-steps';
// The research agents as plain lane task types, and their CPU parts on the lane's thread pools.
export {
  agentTaskSchemas,
  agentPayloadSchemas,
  createAgentTaskTypes,
} from './activities/research/agent-task-types';
export {
  createPooledCpuTaskRunner,
  PooledCpuTaskError,
  type PooledCpuTaskOptions,
} from './activities/research/pooled-cpu-tasks';

// The worker runtime.
export { startSagaWorker, type SagaWorkerOptions, type SagaWorkerHandle } from './runtime/saga-worker';
export {
  startExpressWorker,
  type StartExpressWorkerOptions,
  type RunningExpressWorker,
} from './runtime/express-worker';

// The MCP bridge.
export {
  createMcpServer,
  describeFailure,
  READ_TOOLS,
  WRITE_TOOLS,
  type CreateMcpServerOptions,
} from './mcp/server';
export {
  startMcpHttpServer,
  McpHttpServerError,
  type McpHttpServer,
  type McpHttpServerOptions,
} from './mcp/http-server';

export { serveMcpOverStdio, type ServeStdioOptions } from './mcp/stdio';

// Observability.
export { createMetrics, startObservabilityServer, type SagalaneMetrics } from './observability';

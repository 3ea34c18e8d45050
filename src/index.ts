/**
 * `import { SagaClient, ExpressClient, Saga } from 'sagalane'`: the typed clients for embedding sagalane in a
 * service, the Saga helper and pipeline contract, the agents, the workers and the MCP server. Workflow code should
 * import from `sagalane/workflows` instead (deterministic code only, safe to bundle).
 */

// Sagas: the client, its errors and the pipeline contract.
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
export * from './workflows/pipeline-contract';
export * from './workflows/search-attributes';

// The saga catalog: one declaration per saga (defineSaga + sagaSteps), served by every worker and front door.
export {
  sagaSteps,
  stepActivities,
  declaredActivities,
  type SagaStepDeclaration,
  type SagaStepsDeclaration,
  type DeclaredActivity,
} from './workflows/saga-steps';
export {
  defineSaga,
  snakeCase,
  type SagaDeclaration,
  type SagaDefinition,
  type AnySagaDefinition,
} from './catalog/define-saga';
export {
  SagaCatalog,
  sagaCatalog,
  dispatchStepsOf,
  type SagaCatalogOptions,
  type CatalogActivity,
  type SagaTypeDescription,
} from './catalog/catalog';
export { catalogStepTypes, type CatalogStepTypesOptions } from './catalog/step-types';
export { loadSagaModule, BUILTIN_SAGA_MODULE, type SagaModule } from './catalog/saga-module';
export { SagaCatalogError, UnknownSagaTypeError, InvalidSagaInputError } from './catalog/errors';
export { researchPipelineSaga, BUILTIN_SAGA_CATALOG } from './workflows/research-pipeline-saga';
export {
  Saga,
  sagaStateQuery,
  sagaFailureDetails,
  SAGA_LIFECYCLE_STATES,
  SAGA_ROLLED_BACK_FAILURE,
  SAGA_COMPENSATION_FAILED_FAILURE,
  type SagaOptions,
  type StepOptions,
  type CompensationOptions,
  type CompensationRetryPolicy,
  type CompensationMode,
  type ApprovalOptions,
  type ApprovalAnswer,
  type FailedCompensation,
} from './workflows/saga';
export {
  stepAttemptActivityInterceptor,
  STEP_ATTEMPT_WORKFLOW_MODULE,
} from './runtime/step-attempt-interceptor';

// The express lane: client, worker, task types.
export * from './lane';

// The agents and the worker entry points.
export { createActivities, createAgents, agentDepsFromConfig } from './activities';
export type { AgentDeps, AgentHandlers } from './activities';
export type { PipelineActivities, StrategyPlan, BacktestMetrics } from './activities/contracts';
// The research pipeline's local activities, for a worker created without startSagaWorker (docs/SAGAS.md "Speed").
export { NO_PIPELINE_LOCAL_ACTIVITIES, withPipelineLocalActivities } from './activities/local-steps';

// Lane-dispatched saga steps: dispatch activities (saga worker side) and step types (lane worker side).
export {
  createLaneDispatchActivities,
  STEP_DISPATCH_REFUSED_FAILURE,
  type LaneDispatchOptions,
  type LaneDispatchStep,
} from './dispatch/lane-dispatch';
export {
  activityStepTypes,
  defineActivityStepType,
  toStepFailure,
  type ActivityStepTypeOptions,
  type StepHandler,
  type StepHandlerContext,
  type StepTaskOutcome,
} from './dispatch/activity-completion';
export { stepTaskSchemas, stepTaskType, STEP_TASK_TYPE_PREFIX } from './dispatch/activity-step-contract';
export { createPipelineStepTypes } from './activities/pipeline-step-types';
export { PIPELINE_DISPATCH_STEPS } from './activities/pipeline-dispatch-steps';
// The research agents as plain lane task types, and their CPU parts on the lane's thread pools.
export { agentTaskSchemas, agentPayloadSchemas, createAgentTaskTypes } from './activities/agent-task-types';
export {
  createPooledCpuTaskRunner,
  PooledCpuTaskError,
  type PooledCpuTaskOptions,
} from './activities/pooled-cpu-tasks';
export {
  laneHint,
  unwrapLaneStepResult,
  type LaneHint,
  type LaneStepResult,
  type StepLane,
} from './dispatch/lane-step';
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

// Configuration, logging, observability.
export { loadConfig, ConfigError, type Config } from './config';
export { createLogger, type Logger } from './logger';
export { createMetrics, startObservabilityServer, type SagalaneMetrics } from './observability';

/**
 * sagalane's machinery as a saga's own code sees it: the saga declaration and catalog, the `Saga` helper and the saga
 * contract, the express lane, lane dispatch of saga steps, configuration and logging. `src/index.ts` (`sagalane`)
 * re-exports all of it, beside the front doors, the worker runtime and the research pipeline.
 *
 * The research pipeline's own modules (src/activities/research, src/workflows/research) import sagalane only from
 * here and from `sagalane/workflows` (src/workflows/public.ts), as a user's saga imports `sagalane`: not from
 * src/index.ts itself, which re-exports the pipeline (that would be an import cycle). Nothing here may import the
 * pipeline, the front doors or the runtime (.dependency-cruiser.cjs).
 */

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
export { SagaCatalogError, UnknownSagaTypeError, InvalidSagaInputError } from './catalog/errors';

// The Saga helper and the contract every saga answers (the `state` query, cancel, approvals).
export * from './workflows/saga-contract';
export * from './workflows/search-attributes';
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

// The express lane: client, worker, task types, connections, thread pools.
export * from './lane';

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
export {
  laneHint,
  unwrapLaneStepResult,
  SAGA_PRIORITIES,
  type SagaPriority,
  type LaneHint,
  type LaneStepResult,
  type StepLane,
} from './dispatch/lane-step';

// Configuration and logging.
export { loadConfig, ConfigError, type Config } from './config';
export { createLogger, redactUrl, redactText, redactedExcerpt, type Logger } from './logger';

// Tracing, for a saga's own agents: spans around their phases, inside the lane's run span and Temporal's activity
// span (no-ops while tracing is off).
export { inSpan, recordError, tracingEnabled, type SpanOptions } from './observability/tracing';
export type { Span } from '@opentelemetry/api';

/**
 * `import { Saga } from 'sagalane/workflows'`: what users' own workflow code may import, and all that the research
 * pipeline's workflow code (./research) imports of sagalane. Kept apart from `./index.ts` (the module the saga worker
 * bundles) because every function exported there becomes a workflow type. The pipeline's own contract (its steps,
 * states and input schema) is exported from `sagalane`.
 */
export * from './saga';
export * from './saga-sinks';
export * from './saga-contract';
export * from './search-attributes';
export * from './saga-steps';
export {
  laneHint,
  unwrapLaneStepResult,
  SAGA_PRIORITIES,
  type SagaPriority,
  type LaneHint,
  type LaneStepResult,
  type StepLane,
} from '../dispatch/lane-step';

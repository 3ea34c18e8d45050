/**
 * `import { Saga } from 'sagalane/workflows'`: what users' own workflow code may import. Kept apart from
 * `./index.ts` (the module the saga worker bundles) because every function exported there becomes a workflow type.
 */
export * from './saga';
export * from './saga-sinks';
export * from './pipeline-contract';
export * from './search-attributes';
export * from './saga-steps';
export {
  laneHint,
  unwrapLaneStepResult,
  type LaneHint,
  type LaneStepResult,
  type StepLane,
} from '../dispatch/lane-step';
export { researchPipeline } from './research-pipeline';

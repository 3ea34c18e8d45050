/**
 * The research pipeline as a catalog entry, and the catalog sagalane serves out of the box. Its workflow is
 * `researchPipeline` (./research-pipeline.ts, bundled from ../index.ts); its steps are `PIPELINE_SAGA_STEPS`.
 */
import { randomUUID } from 'node:crypto';
import { defineSaga, sagaCatalog } from '../../core';
import {
  PIPELINE_APPROVAL_STEP,
  PIPELINE_SAGA_STEPS,
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineInputSchema,
  pipelineWorkflowId,
  type PipelineInput,
  type PipelineResult,
} from './pipeline-contract';

export const researchPipelineSaga = defineSaga<PipelineInput, PipelineResult>({
  type: RESEARCH_PIPELINE_WORKFLOW,
  description:
    'Turns an idea about a market into a tested trading strategy: plan (reasoning), generate its code (codegen), ' +
    'search its parameters (ml) and backtest it, each step with a compensation; optional approval before the backtest.',
  input: pipelineInputSchema,
  steps: PIPELINE_SAGA_STEPS,
  approvals: [PIPELINE_APPROVAL_STEP],
  workflowId: (input, uuid = randomUUID()) => pipelineWorkflowId(input.symbol, uuid),
  priority: (input) => input.priority,
  memo: (input) => ({ idea: input.idea, symbol: input.symbol }),
  stopsForApproval: (input) => input.approval !== undefined && input.approval !== 'none',
  // Its start tool predates the catalog and keeps its name.
  tool: 'start_pipeline',
});

/** The sagas sagalane serves when no catalog module is named (SAGALANE_SAGAS): the research pipeline. */
export const BUILTIN_SAGA_CATALOG = sagaCatalog([researchPipelineSaga], {
  workflowsPath: require.resolve('../index'),
});

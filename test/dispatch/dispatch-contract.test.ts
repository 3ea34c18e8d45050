/**
 * Pure parts of lane dispatch: the per-saga priority input (one rule for the zod schema, the workflow's zod-free
 * validator and SagaClient), the lane hint and envelope, the step failure mapping, and the step-duration metric's
 * bounded `dispatch` label.
 */
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowInfo } from '@temporalio/workflow';
import { DatasetNotFoundError, LlmProviderError } from '../../src/activities/research/errors';
import { InvalidPipelineInputError } from '../../src/client/errors';
import { parsePipelineInput } from '../../src/client/saga-client';
import { toStepFailure } from '../../src/dispatch/activity-completion';
import { stepIdempotencyKey, stepTaskType } from '../../src/dispatch/activity-step-contract';
import { createMetrics } from '../../src/observability/metrics';
import { createSagaMetricsSinks } from '../../src/observability/saga-metrics-sinks';
import {
  hintedLane,
  laneHint,
  laneStepResult,
  takeLaneStepResult,
  unwrapLaneStepResult,
} from '../../src/dispatch/lane-step';
import { pipelineInputSchema } from '../../src/workflows/research/pipeline-contract';
import { validatePipelineInput } from '../../src/workflows/research/pipeline-input-validation';

const base = { idea: 'trend following', symbol: 'DEMO' };

describe('per-saga priority input', () => {
  it.each(['express', 'standard', undefined])(
    'accepts priority %s in the schema, the workflow and SagaClient',
    (priority) => {
      const input = { ...base, ...(priority ? { priority } : {}) };
      expect(pipelineInputSchema.safeParse(input).success).toBe(true);
      expect(validatePipelineInput(input)).toEqual({ success: true, data: input });
      expect(parsePipelineInput(input)).toEqual(input);
    },
  );

  it.each(['urgent', 1, null, 'EXPRESS'])(
    'refuses priority %p everywhere with the same message',
    (priority) => {
      const input = { ...base, priority };
      const zod = pipelineInputSchema.safeParse(input);
      expect(zod.success).toBe(false);
      const plain = validatePipelineInput(input);
      expect(plain.success).toBe(false);
      const zodIssue = zod.error!.issues.find((i) => i.path[0] === 'priority');
      const plainIssue = !plain.success ? plain.issues.find((i) => i.path[0] === 'priority') : undefined;
      expect(plainIssue?.message).toBe(zodIssue?.message);
      expect(() => parsePipelineInput(input)).toThrow(InvalidPipelineInputError);
    },
  );
});

describe('lane hint and envelope', () => {
  it('reads a trailing lane hint only', () => {
    expect(hintedLane([{ sagaId: 's' }, laneHint('express')])).toBe('express');
    expect(hintedLane([{ sagaId: 's' }])).toBeUndefined();
    // A hint-shaped input alone is the input, not a hint.
    expect(hintedLane([laneHint('express')])).toBeUndefined();
    expect(hintedLane([{}, { sagalaneLane: 'fast' }])).toBeUndefined();
  });

  it('unwraps a lane result and records where the step ran; leaves other values alone', () => {
    const record = { attempts: 1 } as { lane?: string; taskId?: string; attempts: number };
    const value = takeLaneStepResult(
      record as never,
      laneStepResult({ plan: 1 }, { lane: 'express', taskId: 'step.ml:1', attempt: 2 }),
    );
    expect(value).toEqual({ plan: 1 });
    expect(record).toEqual({ lane: 'express', taskId: 'step.ml:1', attempts: 2 });
    expect(unwrapLaneStepResult('plain')).toEqual({ value: 'plain' });
    expect(
      unwrapLaneStepResult({ sagalaneLaneStep: { lane: 'nope', taskId: 'x' }, value: 1 }).ran,
    ).toBeUndefined();
  });

  it('names step task types and keys one lane task per activity attempt', () => {
    expect(stepTaskType('compensateMl')).toBe('step.compensateMl');
    const ref = { workflowId: 'w', runId: 'r', activityId: '7', activityType: 'ml', attempt: 1 };
    expect(stepIdempotencyKey(ref)).not.toBe(stepIdempotencyKey({ ...ref, attempt: 2 }));
    expect(stepIdempotencyKey(ref)).not.toBe(stepIdempotencyKey({ ...ref, runId: 'r2' }));
  });
});

describe('step failure mapping', () => {
  it('keeps agent errors that retrying cannot fix non-retryable, with their type', () => {
    const f = toStepFailure(new DatasetNotFoundError('unknown data set NOPE'));
    expect([f.type, f.nonRetryable, f.message]).toEqual(['DatasetNotFound', true, 'unknown data set NOPE']);
    expect(toStepFailure(Object.assign(new Error('x'), { nonRetryable: true })).nonRetryable).toBe(true);
  });

  it('leaves transient errors retryable and Temporal failures as they are', () => {
    expect(toStepFailure(new LlmProviderError('timeout')).nonRetryable).toBe(false);
    expect(toStepFailure(new Error('redis hiccup')).nonRetryable).toBe(false);
    const own = ApplicationFailure.nonRetryable('mine', 'Mine');
    expect(toStepFailure(own)).toBe(own);
  });
});

describe('step duration metric', () => {
  it('labels steps by dispatch mode, lane or inline (older sagas report inline)', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const sinks = createSagaMetricsSinks(metrics).sagaMetrics;
    const info = { workflowId: 'w', runId: 'r' } as WorkflowInfo;
    const event = {
      workflowType: 'researchPipeline',
      step: 'ml',
      outcome: 'completed' as const,
      durationMs: 5,
    };
    sinks.stepFinished.fn(info, { ...event, dispatch: 'lane' });
    sinks.stepFinished.fn(info, event);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/sagalane_saga_step_duration_seconds_count\{[^}]*dispatch="lane"[^}]*\} 1/);
    expect(text).toMatch(/sagalane_saga_step_duration_seconds_count\{[^}]*dispatch="inline"[^}]*\} 1/);
  });
});

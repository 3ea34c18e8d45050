/**
 * The worker side of the saga metrics sink: turns the `Saga` helper's lifecycle events into Prometheus samples
 * (and, with a logger, into structured log lines carrying the saga id). Pass the result to `startSagaWorker({ sinks })`
 * or `Worker.create({ sinks })`.
 *
 * Sinks run with `callDuringReplay: false`: a saga replayed on another worker after a crash is counted once.
 * The saga id (workflow id) goes into logs only, never into a label.
 */
import type { InjectedSinks } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import type { Logger } from '../logger';
import {
  SAGA_METRICS_SINK,
  type CompensationOutcome,
  type SagaEndOutcome,
  type SagaSinks,
} from '../workflows/saga-sinks';
import type { SagalaneMetrics } from './metrics';

const SAGA_END_OUTCOMES: readonly SagaEndOutcome[] = ['completed', 'rolled_back', 'failed'];
const COMPENSATION_OUTCOMES: readonly CompensationOutcome[] = ['completed', 'failed'];

export interface SagaMetricsSinksOptions {
  /** Where lifecycle events are logged (transitions at debug, ends at info). @defaultValue no logging */
  logger?: Logger;
}

export function createSagaMetricsSinks(
  metrics: SagalaneMetrics,
  options: SagaMetricsSinksOptions = {},
): InjectedSinks<SagaSinks> {
  const { saga } = metrics;
  const log = options.logger;
  const ids = (info: WorkflowInfo) => ({ sagaId: info.workflowId, runId: info.runId });
  return {
    [SAGA_METRICS_SINK]: {
      sagaStarted: {
        fn: (info, event) => {
          saga.started.inc({ workflow_type: event.workflowType });
          // Zero series now, so the first failure is an increase() from 0 and not an invisible new series.
          for (const outcome of SAGA_END_OUTCOMES)
            saga.ended.inc({ workflow_type: event.workflowType, outcome }, 0);
          log?.debug('saga started', { ...ids(info), workflowType: event.workflowType });
        },
        callDuringReplay: false,
      },
      stateTransition: {
        fn: (info, event) => {
          log?.debug('saga state transition', {
            ...ids(info),
            workflowType: event.workflowType,
            from: event.from,
            to: event.to,
          });
        },
        callDuringReplay: false,
      },
      stepFinished: {
        fn: (info, event) => {
          for (const outcome of COMPENSATION_OUTCOMES) {
            saga.compensations.inc({ workflow_type: event.workflowType, step: event.step, outcome }, 0);
          }
          const labels = {
            workflow_type: event.workflowType,
            step: event.step,
            outcome: event.outcome,
            // Bounded: lane | inline (sagas recorded before dispatch modes existed report inline).
            dispatch: event.dispatch === 'lane' ? 'lane' : 'inline',
          };
          if (saga.exemplars && event.traceId)
            // The saga's trace, as an exemplar: never a label (one series per saga would be unbounded).
            saga.stepDuration.observe({
              labels,
              value: event.durationMs / 1000,
              // prom-client types exemplar labels like the metric's own; they are free-form in OpenMetrics.
              exemplarLabels: { trace_id: event.traceId } as never,
            });
          else saga.stepDuration.observe(labels, event.durationMs / 1000);
          log?.debug('saga step finished', { ...ids(info), ...event });
        },
        callDuringReplay: false,
      },
      compensationFinished: {
        fn: (info, event) => {
          saga.compensations.inc({
            workflow_type: event.workflowType,
            step: event.step,
            outcome: event.outcome,
          });
          const level = event.outcome === 'failed' ? 'warn' : 'debug';
          log?.[level]('saga compensation finished', { ...ids(info), ...event });
        },
        callDuringReplay: false,
      },
      sagaEnded: {
        fn: (info, event) => {
          const labels = { workflow_type: event.workflowType, outcome: event.outcome };
          saga.ended.inc(labels);
          saga.duration.observe(labels, event.durationMs / 1000);
          log?.info('saga ended', { ...ids(info), ...event });
        },
        callDuringReplay: false,
      },
    },
  };
}

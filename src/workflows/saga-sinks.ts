/**
 * The metrics hook of every saga: the `Saga` helper reports its lifecycle through these Temporal sinks, and the
 * worker maps them to whatever it likes (Prometheus counters, logs). Sinks run outside the workflow sandbox, so
 * this is the only way deterministic workflow code can feed metrics. Workers install them with
 * `callDuringReplay: false`, so a replayed saga is not counted twice.
 */
import type { Sinks } from '@temporalio/workflow';

export type SagaEndOutcome = 'completed' | 'rolled_back' | 'failed';
export type StepOutcome = 'completed' | 'failed' | 'cancelled';
export type CompensationOutcome = 'completed' | 'failed';
export type StepDispatchMode = 'lane' | 'inline';

export interface SagaStartedEvent {
  workflowType: string;
}
export interface SagaTransitionEvent {
  workflowType: string;
  from: string;
  to: string;
}
export interface SagaStepFinishedEvent {
  workflowType: string;
  step: string;
  outcome: StepOutcome;
  durationMs: number;
  /** How the step's activity ran: `lane` (a lane task) or `inline` (in the saga worker). */
  dispatch?: StepDispatchMode;
  /** The saga's trace while tracing is on (the step-duration exemplar); absent otherwise. */
  traceId?: string;
}
export interface SagaCompensationFinishedEvent {
  workflowType: string;
  step: string;
  outcome: CompensationOutcome;
}
export interface SagaEndedEvent {
  workflowType: string;
  outcome: SagaEndOutcome;
  durationMs: number;
}

/** The handlers a worker gives to observe sagas; each receives one event object. */
// A type alias (not an interface) so it satisfies the SDK's `Sink` index signature.
export type SagaMetricsHandlers = {
  sagaStarted(event: SagaStartedEvent): void;
  stateTransition(event: SagaTransitionEvent): void;
  stepFinished(event: SagaStepFinishedEvent): void;
  compensationFinished(event: SagaCompensationFinishedEvent): void;
  sagaEnded(event: SagaEndedEvent): void;
};

/** The sink as the workflow sees it (`proxySinks<SagaSinks>().sagaMetrics`). */
export type SagaSinks = Sinks & {
  sagaMetrics: SagaMetricsHandlers;
};

/** Name of the sink, shared by the workflow side (`proxySinks`) and the worker side (`InjectedSinks`). */
export const SAGA_METRICS_SINK = 'sagaMetrics';

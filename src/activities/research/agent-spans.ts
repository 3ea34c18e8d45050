/**
 * The agents' phase spans (docs/OBSERVABILITY.md "Tracing"): one span per phase (`agent.plan`, `agent.codegen`,
 * `agent.smoke_run`, `agent.ml`, `agent.parameter_search`, `agent.backtest`), a child of whatever span is active
 * when the agent runs (the lane's `lane.run <type>` or Temporal's `RunActivity:<step>`). Attributes are names and
 * counts under `agent.*`: never the idea, a payload or the generated code. A phase that throws ends with its error
 * recorded (inSpan). Never per candidate or per bar: the inner loops run in worker threads, which have no tracer
 * provider, and a span each would cost more than the work; so a pooled CPU task's span is made here, around the call.
 */
import { inSpan, type Span } from '../../core';

export type AgentPhase = 'plan' | 'codegen' | 'smoke_run' | 'ml' | 'parameter_search' | 'backtest';

/** Runs `fn` in the phase's span, with `attributes` (names under `agent.`, values that are names or counts). */
export function inAgentSpan<T>(
  phase: AgentPhase,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return inSpan(`agent.${phase}`, { attributes }, fn);
}

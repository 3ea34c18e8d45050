/**
 * What the CLI prints. With `--json` a command prints exactly one JSON document on stdout (a saga prints its `state`
 * query's shape); without it, the readable text made here. Progress and logs go to stderr.
 */
import type { HistoryEventSummary } from '../client/history-events';
import { activeTraceIds } from '../observability/tracing';
import type { SagaPage, SagaSummary } from '../client/saga-client';
import type { LaneStats, TaskInfo } from '../lane/express-client';
import type { PipelineResult } from '../workflows/research/pipeline-contract';
import type { SagaStateView } from '../workflows/saga-contract';

export interface OutputOptions {
  json?: boolean;
}

export function print(opts: OutputOptions, value: unknown, text: () => string): void {
  process.stdout.write((opts.json ? JSON.stringify(withTraceId(value), null, 2) : text()) + '\n');
}

/** With tracing on, a JSON object printed by a command carries the command's trace id (`traceId`). */
function withTraceId(value: unknown): unknown {
  const ids = activeTraceIds();
  if (!ids || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  return { ...value, traceId: ids.traceId };
}

/** Any saga's `state` query: the research pipeline's result gets a summary, another saga's result its JSON. */
export function formatSaga(s: SagaStateView<unknown, string>): string {
  const lines = [`Saga ${s.sagaId} (${s.workflowType}, run ${s.runId})`, `  state: ${s.state}`];
  if (s.currentStep) lines.push(`  current step: ${s.currentStep}`);
  for (const step of s.steps) {
    const ms = step.finishedAt ? Date.parse(step.finishedAt) - Date.parse(step.startedAt) : undefined;
    lines.push(
      `  step ${step.name.padEnd(10)} ${step.status.padEnd(9)} attempts ${step.attempts}${ms !== undefined ? `  ${ms} ms` : ''}` +
        // A lane-dispatched step names the lane task that ran it (`sagalane task get <taskId>`).
        (step.taskId ? `  ${step.lane} lane task ${step.taskId}` : ''),
    );
  }
  for (const c of s.compensations)
    lines.push(`  compensated ${c.step.padEnd(10)} ${c.status}${c.error ? `: ${c.error}` : ''}`);
  if (s.error) lines.push(`  error: ${sagaFailureText(s)}`);
  const result = s.result;
  if (isPipelineResult(result)) {
    const plan = result.plan;
    lines.push(`  plan: ${plan.family}${plan.direction ? ` ${plan.direction}` : ''} (${plan.provider})`);
    for (const u of plan.understood ?? []) lines.push(`    understood "${u.phrase}": ${u.meaning}`);
    for (const a of plan.assumed ?? []) lines.push(`    assumed: ${a}`);
    lines.push(`  params: ${JSON.stringify(result.params)}`);
    lines.push(`  metrics: ${JSON.stringify(result.metrics)}`);
  } else if (result !== undefined) {
    lines.push(`  result: ${JSON.stringify(result)}`);
  }
  return lines.join('\n');
}

/** The research pipeline's result has a plan with a strategy family; any other shape is printed as JSON. */
function isPipelineResult(result: unknown): result is PipelineResult {
  if (typeof result !== 'object' || result === null) return false;
  const plan = (result as { plan?: unknown }).plan;
  return (
    typeof plan === 'object' && plan !== null && typeof (plan as { family?: unknown }).family === 'string'
  );
}

export function sagaFailureText(s: SagaStateView<unknown, string>): string {
  if (!s.error) return `saga ${s.sagaId} ended ${s.state}`;
  const where = s.error.step ? ` at step ${s.error.step}` : '';
  const why = s.error.cancelReason ? ` (${s.error.cancelReason})` : '';
  return `saga ${s.sagaId} ended ${s.state}${where}, ${s.error.reason}${why}: ${s.error.message}`;
}

export function formatSagaList(page: SagaPage<SagaSummary>): string {
  if (page.items.length === 0) return 'No sagas found.';
  const lines = page.items.map(
    (s) =>
      `${s.sagaId}  ${(s.state ?? s.status).padEnd(12)} ${s.startTime}${s.idea ? `  ${truncate(s.idea, 50)}` : ''}`,
  );
  if (page.nextPageToken) lines.push(`More: --next-page-token ${page.nextPageToken}`);
  return lines.join('\n');
}

export function formatHistory(page: SagaPage<HistoryEventSummary>): string {
  const lines = page.items.map(
    (e) =>
      `${String(e.eventId).padStart(4)}  ${e.time}  ${e.type}` +
      (e.activityType ? ` ${e.activityType}` : '') +
      (e.name ? ` ${e.name}` : '') +
      (e.searchAttributes ? ` ${JSON.stringify(e.searchAttributes)}` : '') +
      (e.failure ? `  failure: ${e.failure}` : '') +
      (e.payloads ? `\n        ${JSON.stringify(e.payloads)}` : ''),
  );
  if (page.nextPageToken) lines.push(`More: --next-page-token ${page.nextPageToken}`);
  return lines.join('\n');
}

export function formatTask(t: TaskInfo): string {
  const lines = [
    `Task ${t.taskId} (${t.type}, ${t.lane} lane)`,
    `  status: ${t.status}`,
    `  attempts: ${t.attempts}/${t.maxAttempts}`,
  ];
  if (t.result !== undefined) lines.push(`  result: ${JSON.stringify(t.result)}`);
  if (t.error) lines.push(`  error: ${t.error}`);
  return lines.join('\n');
}

export function formatLaneStats(stats: LaneStats[]): string {
  // The type column fits the longest name (saga step types are long: step.compensateReasoning).
  const width = Math.max(13, ...stats.map((s) => s.type.length));
  // The objective columns only when some type has one: attainment over the last minute, of how many tasks.
  const slo = stats.some((s) => s.sloMs !== undefined);
  const header =
    `${'type'.padEnd(width)} lane      length  pending  lag  consumers  delayed  dead` +
    (slo ? '      slo  attained  (of)' : '');
  const rows = stats.map(
    (s) =>
      `${s.type.padEnd(width)} ${s.lane.padEnd(9)} ${String(s.length).padStart(6)} ${String(s.pending).padStart(8)} ` +
      `${String(s.lag).padStart(4)} ${String(s.consumers).padStart(10)} ${String(s.delayed).padStart(8)} ${String(s.deadLetters).padStart(5)}` +
      (slo ? sloCells(s) : ''),
  );
  return [header, ...rows].join('\n');
}

function sloCells(s: LaneStats): string {
  if (s.sloMs === undefined) return `${'-'.padStart(9)} ${'-'.padStart(9)}`;
  const attained =
    s.attainment === undefined ? '-' : `${(Math.floor(s.attainment * 1000) / 10).toFixed(1)} %`;
  return `${`${s.sloMs} ms`.padStart(9)} ${attained.padStart(9)}  (${s.sloTasks ?? 0})`;
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

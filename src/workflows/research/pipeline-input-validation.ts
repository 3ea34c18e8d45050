/**
 * The researchPipeline's input checks inside the workflow, without zod. They mirror `pipelineInputSchema` and
 * `pipelineTuningSchema` (./pipeline-contract), which clients keep using: same rules, same trimming, same messages.
 * Why not zod here: with `reuseV8Context` the SDK evaluates a workflow's modules once per workflow run, and
 * evaluating zod and building the schemas cost ~14 ms of CPU in the first workflow task of every saga (measured with
 * near-instant activities: first task 28-33 ms with zod, 14-18 ms without). Deterministic code only.
 */
import { SAGA_PRIORITIES } from '../public';
import { SYMBOL_PATTERN, SYMBOL_RULE } from '../../activities/research/input-rules';
import type { PipelineInput, PipelineTuning } from './pipeline-contract';
import { PIPELINE_APPROVALS } from './pipeline-definitions';

export interface InputIssue {
  /** Path of the offending field, e.g. `['params', 'fast']`; empty for the input as a whole. */
  path: string[];
  message: string;
}

export type Validated<T> = { success: true; data: T } | { success: false; issues: InputIssue[] };

/** The same rules as `pipelineInputSchema`; strings come back trimmed. */
export function validatePipelineInput(input: unknown): Validated<PipelineInput> {
  const v = new Checker();
  const o = v.object(input, [
    'idea',
    'symbol',
    'dataset',
    'params',
    'strict',
    'timeoutMs',
    'approval',
    'approvalTimeoutMs',
    'priority',
  ]);
  if (!o) return v.result<PipelineInput>(undefined);
  const data: Record<string, unknown> = {};
  const idea = v.string(o.idea, 'idea');
  if (idea !== undefined) {
    if (idea.length < 3) v.issue(['idea'], 'idea must say something (at least 3 characters)');
    else if (idea.length > 2000) v.issue(['idea'], 'Too big: expected string to have <=2000 characters');
    data.idea = idea;
  }
  const symbol = v.string(o.symbol, 'symbol');
  if (symbol !== undefined) {
    if (!SYMBOL_PATTERN.test(symbol)) v.issue(['symbol'], SYMBOL_RULE);
    data.symbol = symbol;
  }
  if (o.dataset !== undefined) {
    const dataset = v.string(o.dataset, 'dataset');
    if (dataset !== undefined) {
      if (dataset.length < 1) v.issue(['dataset'], 'Too small: expected string to have >=1 characters');
      else if (dataset.length > 500)
        v.issue(['dataset'], 'Too big: expected string to have <=500 characters');
      data.dataset = dataset;
    }
  }
  if (o.params !== undefined) {
    if (!isPlainObject(o.params)) {
      v.issue(['params'], `Invalid input: expected record, received ${kindOf(o.params)}`);
    } else {
      const params: Record<string, number> = {};
      for (const [key, value] of Object.entries(o.params)) {
        const n = v.number(value, ['params', key]);
        if (n !== undefined) params[key] = n;
      }
      data.params = params;
    }
  }
  if (o.strict !== undefined) {
    if (typeof o.strict === 'boolean') data.strict = o.strict;
    else v.issue(['strict'], `Invalid input: expected boolean, received ${kindOf(o.strict)}`);
  }
  if (o.timeoutMs !== undefined) {
    const t = v.integer(o.timeoutMs, ['timeoutMs'], 100, 86_400_000);
    if (t !== undefined) data.timeoutMs = t;
  }
  if (o.priority !== undefined) {
    if ((SAGA_PRIORITIES as readonly unknown[]).includes(o.priority)) data.priority = o.priority;
    else
      v.issue(
        ['priority'],
        `Invalid option: expected one of ${SAGA_PRIORITIES.map((p) => JSON.stringify(p)).join('|')}`,
      );
  }
  if (o.approval !== undefined) {
    if (typeof o.approval === 'string' && (PIPELINE_APPROVALS as readonly string[]).includes(o.approval))
      data.approval = o.approval;
    else
      v.issue(
        ['approval'],
        `Invalid option: expected one of ${PIPELINE_APPROVALS.map((a) => JSON.stringify(a)).join('|')}`,
      );
  }
  if (o.approvalTimeoutMs !== undefined) {
    const t = v.integer(o.approvalTimeoutMs, ['approvalTimeoutMs'], 100, 604_800_000);
    if (t !== undefined) data.approvalTimeoutMs = t;
  }
  v.unrecognized();
  return v.result(data as PipelineInput);
}

const TUNING_LIMITS: Record<keyof PipelineTuning, [number, number]> = {
  heartbeatTimeoutMs: [100, 3_600_000],
  retryInitialIntervalMs: [10, 600_000],
  stepMaximumAttempts: [1, 100],
  compensationMaximumAttempts: [1, 100],
};

/** The same rules as `pipelineTuningSchema`. */
export function validatePipelineTuning(tuning: unknown): Validated<PipelineTuning> {
  const v = new Checker();
  const o = v.object(tuning, Object.keys(TUNING_LIMITS));
  if (!o) return v.result<PipelineTuning>(undefined);
  const data: Record<string, number> = {};
  for (const [key, [min, max]] of Object.entries(TUNING_LIMITS)) {
    if (o[key] === undefined) continue;
    const n = v.integer(o[key], [key], min, max);
    if (n !== undefined) data[key] = n;
  }
  v.unrecognized();
  return v.result(data as PipelineTuning);
}

/** Collects issues in zod's order and wording: declared fields first, unknown keys last. */
class Checker {
  private readonly issues: InputIssue[] = [];
  private extraKeys: string[] = [];

  issue(path: string[], message: string): void {
    this.issues.push({ path, message });
  }

  object(value: unknown, known: string[]): Record<string, unknown> | undefined {
    if (!isPlainObject(value)) {
      this.issue([], `Invalid input: expected object, received ${kindOf(value)}`);
      return undefined;
    }
    this.extraKeys = Object.keys(value).filter((k) => !known.includes(k));
    return value;
  }

  unrecognized(): void {
    if (this.extraKeys.length === 0) return;
    const keys = this.extraKeys.map((k) => JSON.stringify(k)).join(', ');
    this.issue([], `Unrecognized key${this.extraKeys.length > 1 ? 's' : ''}: ${keys}`);
  }

  /** A trimmed string, or undefined after recording the issue. */
  string(value: unknown, field: string): string | undefined {
    if (typeof value === 'string') return value.trim();
    this.issue([field], `Invalid input: expected string, received ${kindOf(value)}`);
    return undefined;
  }

  number(value: unknown, path: string[]): number | undefined {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    this.issue(path, `Invalid input: expected number, received ${kindOf(value)}`);
    return undefined;
  }

  integer(value: unknown, path: string[], min: number, max: number): number | undefined {
    const n = this.number(value, path);
    if (n === undefined) return undefined;
    if (!Number.isInteger(n)) this.issue(path, 'Invalid input: expected int, received number');
    else if (n < min) this.issue(path, `Too small: expected number to be >=${min}`);
    else if (n > max) this.issue(path, `Too big: expected number to be <=${max}`);
    else return n;
    return undefined;
  }

  result<T>(data: T | undefined): Validated<T> {
    if (this.issues.length > 0 || data === undefined) return { success: false, issues: this.issues };
    return { success: true, data };
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How zod names a received value in "expected X, received Y". */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number')
    return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? 'number' : 'Infinity';
  return typeof value;
}

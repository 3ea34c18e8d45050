/**
 * The workflow validates its input without zod (zod costs every saga ~15 ms of workflow-task time, see
 * src/workflows/research/pipeline-input-validation.ts), while clients validate with the zod schemas. Both must accept and
 * reject the same inputs with the same messages: this pins them together so they cannot drift apart.
 */
import { pipelineInputSchema, pipelineTuningSchema } from '../../src/workflows/research/pipeline-contract';
import {
  validatePipelineInput,
  validatePipelineTuning,
  type Validated,
} from '../../src/workflows/research/pipeline-input-validation';

type ZodLike = { safeParse(v: unknown): { success: boolean; data?: unknown; error?: { issues: Issue[] } } };
type Issue = { path: PropertyKey[]; message: string };

function normalise(r: ReturnType<ZodLike['safeParse']> | Validated<unknown>): unknown {
  if (r.success) return { ok: (r as { data: unknown }).data };
  const issues = ('issues' in r ? r.issues : (r as { error: { issues: Issue[] } }).error.issues) as Issue[];
  return { issues: issues.map((i) => [i.path.map(String).join('.'), i.message]) };
}

const ok = { idea: ' momentum idea ', symbol: ' BTC-USD ' };
const inputs: unknown[] = [
  null,
  5,
  'x',
  [],
  {},
  undefined,
  ok,
  { ...ok, dataset: ' d ', params: { fast: 5, slow: 2.5 }, timeoutMs: 5000 },
  { idea: 3, symbol: 'A' },
  { idea: 'x'.repeat(2001), symbol: 'A' },
  { idea: ' ab ', symbol: 'A' },
  { idea: 'abc', symbol: 'not a symbol!' },
  { idea: 'abc', symbol: 'x'.repeat(21) },
  { idea: 'abc', symbol: '' },
  { idea: 'abc', symbol: 'A', dataset: '  ' },
  { idea: 'abc', symbol: 'A', dataset: 'x'.repeat(501) },
  { idea: 'abc', symbol: 'A', params: { a: 'x', b: Infinity, c: NaN, d: null } },
  { idea: 'abc', symbol: 'A', params: [] },
  { idea: 'abc', symbol: 'A', params: null },
  { idea: 'abc', symbol: 'A', timeoutMs: 1.5 },
  { idea: 'abc', symbol: 'A', timeoutMs: 1e9 },
  { idea: 'abc', symbol: 'A', timeoutMs: 50 },
  { idea: 'abc', symbol: 'A', timeoutMs: '5' },
  { idea: 'abc', symbol: 'A', timeoutMs: null },
  { idea: 'x', symbol: 'no no', x: 1, y: 2 },
  { idea: 'abc', symbol: 'A', x: 1 },
  { idea: 'abc', symbol: 'A', dataset: 7, params: 'p' },
  { ...ok, approval: 'none' },
  { ...ok, approval: 'before_backtest', approvalTimeoutMs: 1000 },
  { ...ok, approval: 'after_lunch' },
  { ...ok, approval: 3 },
  { ...ok, approvalTimeoutMs: 50 },
  { ...ok, approvalTimeoutMs: 1e12 },
  { ...ok, approvalTimeoutMs: '5' },
];
const tunings: unknown[] = [
  {},
  {
    heartbeatTimeoutMs: 2000,
    retryInitialIntervalMs: 10,
    stepMaximumAttempts: 1,
    compensationMaximumAttempts: 100,
  },
  { heartbeatTimeoutMs: 50 },
  { heartbeatTimeoutMs: 4e6 },
  { stepMaximumAttempts: 1.5 },
  { stepMaximumAttempts: 'a' },
  null,
  'x',
  [],
  { heartbeatTimout: 2000 },
  { compensationMaximumAttempts: 0, retryInitialIntervalMs: 1e9 },
];

describe('workflow-side input validation matches the zod schemas clients use', () => {
  it.each(inputs.map((i) => [JSON.stringify(i)?.slice(0, 60) ?? 'undefined', i]))(
    'pipeline input %s',
    (_, input) => {
      expect(normalise(validatePipelineInput(input))).toEqual(
        normalise(pipelineInputSchema.safeParse(input)),
      );
    },
  );

  it.each(tunings.map((t) => [JSON.stringify(t), t]))('tuning %s', (_, tuning) => {
    expect(normalise(validatePipelineTuning(tuning))).toEqual(
      normalise(pipelineTuningSchema.safeParse(tuning)),
    );
  });

  it('accepts and trims a valid input the same way', () => {
    const r = validatePipelineInput(ok);
    expect(r).toEqual({ success: true, data: { idea: 'momentum idea', symbol: 'BTC-USD' } });
  });
});

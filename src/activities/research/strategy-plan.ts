/**
 * The strategy plan schema (the one every planner's answer must pass, built-in or LLM) and the built-in,
 * deterministic planner: ./idea-reader reads the idea, this module turns the reading into search ranges.
 */
import { z } from 'zod';
import type { ParameterRange, StrategyFamily, StrategyPlan } from './contracts';
import { UnmappableIdeaError } from './errors';
import { accountingIssues } from './idea-accounting';
import { readIdea, type ReadOptions } from './idea-reader';
import { FAMILY_SPECS, STRATEGY_FAMILIES, type ParameterSpec } from './strategy-families';

/** Largest parameter grid a plan may ask the ML step to search. */
export const MAX_GRID_SIZE = 400;

const parameterRangeSchema = z
  .object({ min: z.number().finite(), max: z.number().finite(), step: z.number().finite().positive() })
  .strict()
  .refine((r) => r.min <= r.max, 'min must not exceed max')
  .refine(
    (r) => (r.max - r.min) / r.step < MAX_GRID_SIZE,
    `a range may hold at most ${MAX_GRID_SIZE} values`,
  );

const phrase = z.string().max(500);
const proposedPlanShape = z.object({
  family: z.enum(STRATEGY_FAMILIES),
  parameterRanges: z.record(z.string(), parameterRangeSchema),
  rationale: z.string().trim().min(1, 'rationale must not be empty').max(2000),
  direction: z.enum(['long_only', 'long_short']).optional(),
  risk: z
    .object({
      stopLossPct: z.number().gt(0).max(90).optional(),
      takeProfitPct: z.number().gt(0).max(1000).optional(),
    })
    .strict()
    .optional(),
  volatilityFilter: z
    .object({ lookback: z.number().int().min(2).max(250), maxAnnualVolPct: z.number().gt(0).max(1000) })
    .strict()
    .optional(),
  understood: z
    .array(z.object({ phrase, meaning: phrase }).strict())
    .max(50)
    .optional(),
  assumed: z.array(phrase).max(50).optional(),
  familySource: z.enum(['idea', 'default']).optional(),
});

function checkParameterRanges(
  plan: { family: StrategyFamily; parameterRanges: Record<string, ParameterRange> },
  ctx: z.RefinementCtx,
): void {
  const spec = FAMILY_SPECS[plan.family];
  const expected = Object.keys(spec.parameters).sort();
  const got = Object.keys(plan.parameterRanges).sort();
  if (expected.join(',') !== got.join(',')) {
    ctx.addIssue({
      code: 'custom',
      path: ['parameterRanges'],
      message: `family ${plan.family} takes parameters [${expected.join(', ')}], got [${got.join(', ')}]`,
    });
    return;
  }
  let size = 1;
  for (const [name, range] of Object.entries(plan.parameterRanges)) {
    const p = spec.parameters[name]!;
    if (range.min < p.min || range.max > p.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['parameterRanges', name],
        message: `${name} must stay within [${p.min}, ${p.max}]`,
      });
    }
    if (p.integer && ![range.min, range.max, range.step].every(Number.isInteger)) {
      ctx.addIssue({ code: 'custom', path: ['parameterRanges', name], message: `${name} takes whole bars` });
    }
    size *= Math.floor((range.max - range.min) / range.step + 1e-9) + 1;
  }
  if (size > MAX_GRID_SIZE) {
    ctx.addIssue({
      code: 'custom',
      path: ['parameterRanges'],
      message: `the ranges make ${size} combinations; at most ${MAX_GRID_SIZE} are searched`,
    });
  }
}

/** A plan as a planner proposes it (the provider is stamped by sagalane, not trusted from a model). */
export const proposedPlanSchema = proposedPlanShape.superRefine(checkParameterRanges);

/**
 * A plan for one idea, from whichever planner: the proposed plan with `understood` and `assumed` required, and its
 * account of the idea's numbers holding (./idea-accounting: each number understood or quoted in assumed, never both;
 * a parameter's meaning in `understood` inside its range). The LLM's replies are checked with it, and the tests
 * check the built-in planner's plans with it.
 */
export function planSchemaForIdea(idea: string, options: ReadOptions = {}) {
  return proposedPlanShape
    .extend({
      understood: proposedPlanShape.shape.understood.unwrap(),
      assumed: proposedPlanShape.shape.assumed.unwrap(),
    })
    .superRefine((plan, ctx) => {
      checkParameterRanges(plan, ctx);
      for (const message of accountingIssues(idea, plan, options.barFrequency)) {
        ctx.addIssue({ code: 'custom', path: ['understood'], message });
      }
    });
}

/** A complete plan, as steps receive it. */
export const strategyPlanSchema = proposedPlanShape
  .extend({ provider: z.string().min(1).max(200) })
  .superRefine(checkParameterRanges);

/** Readable one-line summary of zod issues for error messages. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/**
 * A range centred on a value the idea named (two steps either side, inside the parameter's limits), so the search
 * can confirm or refine it; a single value when the idea said "exactly".
 */
export function rangeAround(value: number, p: ParameterSpec, exact = false): ParameterRange {
  if (exact) return { min: value, max: value, step: 1 };
  const step =
    p.searchStep ??
    (p.integer ? Math.max(1, Math.round(value / 5)) : Math.max(0.1, Math.round(value * 2) / 10));
  const min = Math.max(p.min, Math.round((value - 2 * step) * 1e9) / 1e9);
  const max = Math.min(p.max, Math.round((value + 2 * step) * 1e9) / 1e9);
  return { min, max, step };
}

export interface PlanOptions extends ReadOptions {
  /** Refuse an idea that names no family, or numbers outside their limits, instead of assuming. @defaultValue false */
  strict?: boolean;
}

/** The built-in planner: deterministic, no network; says what it understood and what it assumed. */
export function planFromIdea(idea: string, symbol: string, options: PlanOptions = {}): StrategyPlan {
  const reading = readIdea(idea, { barFrequency: options.barFrequency });
  const spec = FAMILY_SPECS[reading.family];
  if (options.strict) refuseUnmapped(idea, reading.familySource, reading.problems);
  const parameterRanges: Record<string, ParameterRange> = structuredClone(spec.defaultRanges);
  for (const [name, v] of Object.entries(reading.values)) {
    parameterRanges[name] = rangeAround(v.value, spec.parameters[name]!, v.exact);
  }
  const named = Object.entries(reading.values).map(([n, v]) => `${n} ${v.exact ? '=' : '≈'} ${v.value}`);
  const why =
    reading.familySource === 'idea'
      ? `the idea names ${reading.understood.find((u) => u.meaning.startsWith('family'))?.phrase ?? reading.family}`
      : 'no family named, so the trend-following default';
  const rationale =
    `${reading.family} on ${symbol}: ${why}. ${spec.description}` +
    (named.length ? ` Search centred on the values named in the idea (${named.join(', ')}).` : '');
  return {
    family: reading.family,
    parameterRanges,
    rationale: rationale.slice(0, 2000),
    provider: 'builtin',
    direction: reading.direction,
    ...(reading.risk ? { risk: reading.risk } : {}),
    ...(reading.volatilityFilter ? { volatilityFilter: reading.volatilityFilter } : {}),
    understood: reading.understood,
    assumed: reading.assumed,
    familySource: reading.familySource,
  };
}

/** Strict planning: an idea that maps to no family, or names numbers the plan cannot use, is refused. */
export function refuseUnmapped(
  idea: string,
  familySource: StrategyPlan['familySource'],
  problems: string[] = [],
) {
  const reasons = [
    ...(familySource === 'default' ? ['it names no strategy family sagalane knows'] : []),
    ...problems,
  ];
  if (reasons.length) {
    throw new UnmappableIdeaError(
      `strict planning refused the idea "${idea.slice(0, 200)}": ${reasons.join('; ')}. Name a family from ` +
        'docs/AGENTS.md (RSI, SMA/EMA crossover, Bollinger, MACD, Donchian breakout, momentum, z-score mean ' +
        'reversion) with values inside its limits, or plan without strict to accept the defaults',
      { reasons },
    );
  }
}

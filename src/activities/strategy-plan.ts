/**
 * The strategy plan schema (the one every planner's answer must pass, built-in or LLM) and the built-in,
 * deterministic planner that reads an idea for family keywords and lookbacks.
 */
import { z } from 'zod';
import type { ParameterRange, StrategyFamily, StrategyPlan } from './contracts';
import { FAMILY_SPECS, STRATEGY_FAMILIES } from './strategy-families';

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

const proposedPlanShape = z.object({
  family: z.enum(STRATEGY_FAMILIES),
  parameterRanges: z.record(z.string(), parameterRangeSchema),
  rationale: z.string().trim().min(1, 'rationale must not be empty').max(2000),
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

/** A complete plan, as steps receive it. */
export const strategyPlanSchema = proposedPlanShape
  .extend({ provider: z.string().min(1).max(200) })
  .superRefine(checkParameterRanges);

/** Readable one-line summary of zod issues for error messages. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

// Most specific first: "trend-following momentum" is momentum, plain "trend" is a moving-average crossover.
const KEYWORDS: { family: StrategyFamily; pattern: RegExp; label: string }[] = [
  {
    family: 'mean_reversion',
    pattern: /mean[\s-]*rever|revert|reversion|z[\s-]?score|bollinger|oversold|overbought|pairs?\b/,
    label: 'mean reversion',
  },
  { family: 'breakout', pattern: /break[\s-]?out|donchian|channel|new highs?|range high/, label: 'breakout' },
  { family: 'momentum', pattern: /momentum|rate of change|\broc\b|relative strength/, label: 'momentum' },
  {
    family: 'ma_crossover',
    pattern: /cross[\s-]?over|crosses|moving[\s-]average|\bsma\b|\bema\b|golden cross|death cross|trend/,
    label: 'trend / moving-average crossover',
  },
];

/** Lookbacks mentioned in the idea: "20-day", "50 day", "10 bars", "200d", "10/50-day", "10 and 50 days", "fast 10". */
export function lookbacksMentioned(idea: string): number[] {
  const found: number[] = [];
  const unit = String.raw`\s*-?\s*(?:days?|bars?|periods?|sessions?|d)\b`;
  const pattern = new RegExp(
    String.raw`\b(\d{1,3})(?:\s*(?:and|\/|,|to|vs\.?|&)\s*(\d{1,3}))?${unit}` +
      String.raw`|\b(?:fast|slow|lookback|window)\s*(?:of\s*|=\s*)?(\d{1,3})\b`,
    'gi',
  );
  for (const m of idea.matchAll(pattern)) {
    for (const group of [m[1], m[2], m[3]]) {
      const n = Number(group);
      if (group !== undefined && n >= 2 && n <= 250 && !found.includes(n)) found.push(n);
    }
  }
  return found;
}

/** A five-value range centred on a lookback the user named (so the search can confirm or refine it). */
function rangeAround(n: number, floor: number): ParameterRange {
  const step = Math.max(1, Math.round(n / 5));
  return { min: Math.max(floor, n - 2 * step), max: n + 2 * step, step };
}

/** The built-in planner: deterministic, no network, explains which words it acted on. */
export function planFromIdea(idea: string, symbol: string): StrategyPlan {
  const text = idea.toLowerCase();
  const match = KEYWORDS.find((k) => k.pattern.test(text));
  const family = match?.family ?? 'ma_crossover';
  const spec = FAMILY_SPECS[family];
  const parameterRanges: Record<string, ParameterRange> = structuredClone(spec.defaultRanges);
  const lookbacks = lookbacksMentioned(idea);
  const used: string[] = [];
  if (family === 'ma_crossover' && lookbacks.length >= 2) {
    const [fast, slow] = [Math.min(lookbacks[0]!, lookbacks[1]!), Math.max(lookbacks[0]!, lookbacks[1]!)];
    parameterRanges.fast = rangeAround(fast, 1);
    parameterRanges.slow = rangeAround(slow, Math.max(2, fast + 1));
    used.push(`fast ≈ ${fast}`, `slow ≈ ${slow}`);
  } else if (family === 'ma_crossover' && lookbacks.length === 1) {
    parameterRanges.slow = rangeAround(lookbacks[0]!, 2);
    parameterRanges.fast = rangeAround(Math.max(2, Math.round(lookbacks[0]! / 4)), 1);
    used.push(`slow ≈ ${lookbacks[0]}`);
  } else if (lookbacks.length >= 1) {
    parameterRanges.lookback = rangeAround(lookbacks[0]!, 2);
    used.push(`lookback ≈ ${lookbacks[0]}`);
    if (family === 'breakout' && lookbacks.length >= 2) {
      parameterRanges.exitLookback = rangeAround(lookbacks[1]!, 1);
      used.push(`exit lookback ≈ ${lookbacks[1]}`);
    }
  }
  const why = match
    ? `the idea mentions ${match.label}`
    : 'no family keyword found, so the trend-following default';
  const rationale =
    `${family} on ${symbol}: ${why}. ${spec.description}` +
    (used.length ? ` Search centred on the lookbacks named in the idea (${used.join(', ')}).` : '');
  return { family, parameterRanges, rationale, provider: 'builtin' };
}

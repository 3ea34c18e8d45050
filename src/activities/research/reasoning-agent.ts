/**
 * The reasoning agent: idea + symbol → strategy plan (built-in planner, or the LLM provider when configured), cached
 * per idea, symbol and provider. The plan cache is shared between sagas: an entry records which saga created it,
 * and `compensateReasoning` deletes it only when that saga created it (atomically, in Lua), so rolling back one saga
 * never drops a plan another saga cached.
 */
import type { z } from 'zod';
import type { Span } from '../../core';
import type { AgentCallOptions, AgentContext } from './agent-context';
import { agentInputSchemas, parseAgentInput } from './agent-schemas';
import { inAgentSpan } from './agent-spans';
import type { ReasoningCompensationInput, ReasoningInput, ReasoningOutput, StrategyPlan } from './contracts';
import { InvalidAgentInputError } from './errors';
import { barFrequencyOf, DEFAULT_BAR_FREQUENCY, type BarFrequency } from './idea-numbers';
import { planWithLlmOrFallback } from './llm-planner';
import { planCacheKey, planProvider, readCachedPlan } from './plan-cache';
import { planFromIdea, refuseUnmapped } from './strategy-plan';

export { planCacheKey } from './plan-cache';

// Delete the cache entry only if this saga created it: the check and the delete must be one step.
const DELETE_IF_CREATED_BY = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, entry = pcall(cjson.decode, v)
if ok and type(entry) == 'table' and entry.createdBy == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return -1`;

/**
 * The frequency of the data set named like the symbol (what the ml and backtest steps load when the saga names no
 * other data set), which decides how many bars "a month" is. Daily when there is no such data set: the later steps
 * then say what is missing.
 */
async function barFrequencyOfSymbol(ctx: AgentContext, symbol: string): Promise<BarFrequency> {
  try {
    const data = await ctx.loadDataset(symbol, undefined);
    return barFrequencyOf(data.bars.map((b) => b.date));
  } catch {
    return DEFAULT_BAR_FREQUENCY;
  }
}

type ParsedReasoningInput = z.infer<typeof agentInputSchemas.reasoning>;

export function createReasoningAgent(ctx: AgentContext) {
  const { deps, log } = ctx;
  const provider = planProvider(deps.llm);

  /** The `agent.plan` phase: the cache, else the planner (and the cache write). */
  async function planIdea(
    input: ParsedReasoningInput,
    span: Span,
    options?: AgentCallOptions,
  ): Promise<ReasoningOutput> {
    const symbol = input.symbol.toUpperCase();
    const barFrequency = await barFrequencyOfSymbol(ctx, symbol);
    // A daily plan keeps the key it always had; another frequency reads "a month" in other bars: its own entry.
    const cacheKey = planCacheKey(
      deps.keyPrefix,
      input.idea,
      symbol,
      barFrequency === DEFAULT_BAR_FREQUENCY ? provider : `${provider}|${barFrequency}`,
    );
    const fromCache = () => readCachedPlan(deps.redis, cacheKey, input.sagaId, log);
    const hit = await fromCache();
    // A cached plan was made without the strict check: apply it here too.
    if (hit && input.strict) {
      if (provider === 'builtin') planFromIdea(input.idea, symbol, { strict: true });
      else refuseUnmapped(input.idea, hit.plan.familySource);
    }
    span.setAttribute('agent.cache_hit', hit !== undefined);
    if (hit) {
      span.setAttribute('agent.family', hit.plan.family);
      return hit;
    }
    let plan: StrategyPlan;
    if (deps.llm.baseUrl) {
      const answer = await planWithLlmOrFallback(
        { ...deps.llm, baseUrl: deps.llm.baseUrl },
        input.idea,
        symbol,
        {
          signal: options?.signal,
          strict: input.strict,
          barFrequency,
        },
      );
      plan = answer.plan;
      span.setAttribute('agent.llm_fell_back', answer.fellBack);
      if (answer.fellBack) {
        // Not cached: the next saga with this idea asks the model again.
        log.warn('LLM planner failed; the built-in planner answered', { sagaId: input.sagaId });
        return { plan, cacheKey, cached: false };
      }
    } else {
      plan = planFromIdea(input.idea, symbol, { strict: input.strict, barFrequency });
    }
    span.setAttributes({ 'agent.family': plan.family, 'agent.bar_frequency': barFrequency });
    const entry = JSON.stringify({ plan, createdBy: input.sagaId, createdAt: new Date().toISOString() });
    const stored = await deps.redis.set(cacheKey, entry, 'EX', deps.planCacheTtlS, 'NX');
    if (stored === null) {
      // Another saga cached the same idea meanwhile: use theirs, and leave its removal to them.
      const theirs = await fromCache();
      if (theirs) return theirs;
    }
    log.info('planned', { sagaId: input.sagaId, family: plan.family, provider: plan.provider });
    return { plan, cacheKey, cached: false };
  }

  return {
    async reasoning(rawInput: ReasoningInput, options?: AgentCallOptions): Promise<ReasoningOutput> {
      const input = parseAgentInput(agentInputSchemas.reasoning, rawInput, 'reasoning');
      // The planner that would answer a miss: the LLM provider when configured, else the built-in rule reader.
      const planner = deps.llm.baseUrl ? 'llm' : 'builtin';
      return inAgentSpan(
        'plan',
        { 'agent.planner': planner, 'agent.strict': input.strict === true },
        (span) => planIdea(input, span, options),
      );
    },

    async compensateReasoning(rawInput: ReasoningCompensationInput): Promise<void> {
      const input = parseAgentInput(agentInputSchemas.compensateReasoning, rawInput, 'compensateReasoning');
      if (!input.cacheKey.startsWith(`${deps.keyPrefix}:plan-cache:`)) {
        throw new InvalidAgentInputError(
          `cacheKey ${input.cacheKey} is not a plan-cache key of ${deps.keyPrefix}`,
        );
      }
      const outcome = Number(await deps.redis.eval(DELETE_IF_CREATED_BY, 1, input.cacheKey, input.sagaId));
      log.info('reasoning compensated', {
        sagaId: input.sagaId,
        cacheKey: input.cacheKey,
        outcome:
          outcome === 1 ? 'deleted' : outcome === 0 ? 'already gone' : 'kept (created by another saga)',
      });
    },
  };
}

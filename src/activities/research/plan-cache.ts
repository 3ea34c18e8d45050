/**
 * The reasoning step's plan cache (Redis, one entry per idea, symbol and provider, shared between sagas): the key,
 * the entry format, the read both the reasoning agent and the `cachedPlan` local activity use, and that activity.
 *
 * `cachedPlan` is why a cache hit is cheap: the pipeline runs it as a **local activity** in the saga's first workflow
 * task, before the reasoning step (one Redis GET, no activity dispatch, no extra workflow task), and only on a miss
 * schedules the `reasoning` activity (in the saga worker or on the lane). It answers exactly what `reasoning`
 * would answer on a hit, so the compensation (which deletes the entry only when this saga created it) is the same.
 */
import { createHash } from 'node:crypto';
import type { Config, Logger, RedisClient } from '../../core';
import { z } from 'zod';
import { agentInputSchemas } from './agent-schemas';
import type { PlanCacheActivities, ReasoningInput, ReasoningOutput } from './contracts';
import { llmProviderId } from './llm-planner';
import { strategyPlanSchema } from './strategy-plan';

/** `<prefix>:plan-cache:<sha256(idea|symbol|provider)>`. */
export function planCacheKey(keyPrefix: string, idea: string, symbol: string, provider: string): string {
  const digest = createHash('sha256')
    .update(`${idea.trim()}|${symbol.toUpperCase()}|${provider}`)
    .digest('hex');
  return `${keyPrefix}:plan-cache:${digest}`;
}

/** Who plans: `builtin`, or the LLM provider's id when one is configured (part of the cache key). */
export function planProvider(llm: Config['llm']): string {
  return llm.baseUrl ? llmProviderId(llm) : 'builtin';
}

export const planCacheEntrySchema = z.object({
  plan: strategyPlanSchema,
  createdBy: z.string(),
  createdAt: z.string(),
});

/**
 * The cached plan for `sagaId` (`cached` is false when this saga created the entry: a retried step), or undefined.
 * An unreadable entry is deleted (the next planner run replaces it).
 */
export async function readCachedPlan(
  redis: RedisClient,
  cacheKey: string,
  sagaId: string,
  log: Pick<Logger, 'warn'>,
): Promise<ReasoningOutput | undefined> {
  const raw = await redis.get(cacheKey);
  if (raw === null) return undefined;
  let entry: unknown;
  try {
    entry = JSON.parse(raw);
  } catch {
    entry = undefined;
  }
  const parsed = planCacheEntrySchema.safeParse(entry);
  if (!parsed.success) {
    log.warn('dropping an unreadable plan-cache entry', { cacheKey });
    await redis.del(cacheKey);
    return undefined;
  }
  return { plan: parsed.data.plan, cacheKey, cached: parsed.data.createdBy !== sagaId };
}

export interface PlanCacheDeps {
  redis: RedisClient;
  keyPrefix: string;
  llm: Config['llm'];
  logger: Pick<Logger, 'warn'>;
}

/**
 * The `cachedPlan` local activity: the plan `reasoning` would return from the cache, or null on a miss. A `strict`
 * saga always misses here (the strict check of a cached plan is the reasoning agent's), as does input it cannot
 * read: the `reasoning` activity then decides, with its own validation and errors.
 */
export function createPlanCacheActivities(deps: PlanCacheDeps): PlanCacheActivities {
  const provider = planProvider(deps.llm);
  return {
    async cachedPlan(input: ReasoningInput): Promise<ReasoningOutput | null> {
      const parsed = agentInputSchemas.reasoning.safeParse(input);
      if (!parsed.success || parsed.data.strict) return null;
      const { idea, symbol, sagaId } = parsed.data;
      const cacheKey = planCacheKey(deps.keyPrefix, idea, symbol.toUpperCase(), provider);
      return (await readCachedPlan(deps.redis, cacheKey, sagaId, deps.logger)) ?? null;
    },
  };
}

/**
 * The research pipeline's agents as plain async functions. `createAgents(deps)` returns one handler per
 * `PipelineActivities` method; the Temporal wrapper (./index.ts) and the express lane both call these, passing an
 * `AbortSignal` and a progress callback instead of the handlers touching Temporal.
 *
 * Compensation ownership: codegen, ml and backtest own their saga's artifact key, so their compensations delete it.
 * The plan cache is shared between sagas: reasoning records which saga created an entry, and
 * `compensateReasoning` deletes the entry only when that saga created it (atomically, in Lua), so rolling back
 * one saga never drops a plan another saga cached.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type Redis from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config';
import { createLogger, type Logger } from '../logger';
import { ArtifactStore } from './artifact-store';
import { backtestMetrics, sharpeRatio, simulate } from './backtest-engine';
import type {
  ArtifactCompensationInput,
  BacktestInput,
  BacktestOutput,
  CodegenInput,
  CodegenOutput,
  MlInput,
  MlOutput,
  PipelineActivities,
  ReasoningCompensationInput,
  ReasoningOutput,
  StrategyFamily,
  StrategyPlan,
} from './contracts';
import { AgentError, InvalidAgentInputError, MarketDataError } from './errors';
import { llmProviderId, planWithLlm } from './llm-planner';
import { loadMarketData, resolveDataset, type MarketData } from './market-data';
import { generateStrategySource, smokeSampleBars } from './strategy-codegen';
import { FAMILY_SPECS, parameterGrid, STRATEGY_FAMILIES } from './strategy-families';
import { describeIssues, planFromIdea, strategyPlanSchema } from './strategy-plan';
import { loadStrategy } from './strategy-sandbox';

/** The sample data sets shipped with sagalane (`<repo>/data`). */
export const DEFAULT_DATA_DIR = path.resolve(__dirname, '..', '..', 'data');

export interface AgentDeps {
  redis: Redis;
  /** Prefix of every key the agents write (artifacts, plan cache). */
  keyPrefix: string;
  /** Directory of named data sets (`<NAME>.csv`). @defaultValue `DEFAULT_DATA_DIR` */
  dataDir?: string;
  /** More directories a data set given as a path may come from. @defaultValue `[]` */
  allowedDataDirs?: string[];
  /** LLM provider for reasoning; without `baseUrl` the built-in planner is used. */
  llm: Config['llm'];
  /** Lifetime of a cached plan. */
  planCacheTtlS: number;
  logger: Logger;
  /** Time limit of each sandboxed run of generated code. @defaultValue 1000 */
  sandboxTimeoutMs?: number;
  /** Cost of each unit of position change, in basis points of equity. @defaultValue 5 */
  costPerTradeBps?: number;
  /** Share of a data set's bars used to fit parameters; the rest is the backtest's held-out split. @defaultValue 0.7 */
  trainFraction?: number;
}

export interface AgentProgress {
  step: 'ml' | 'backtest';
  done: number;
  total: number;
  message?: string;
}

/** What a caller (Temporal wrapper, express lane) may pass besides the input. */
export interface AgentCallOptions {
  /** Aborts long work between units (parameter candidates); the handler throws `signal.reason`. */
  signal?: AbortSignal;
  /** Called as work advances; the Temporal wrapper heartbeats with it. */
  onProgress?: (progress: AgentProgress) => void;
}

export type AgentHandlers = {
  [K in keyof PipelineActivities]: (
    input: Parameters<PipelineActivities[K]>[0],
    options?: AgentCallOptions,
  ) => ReturnType<PipelineActivities[K]>;
};

/** Fewest bars a parameter set is judged on after its warm-up. */
export const MIN_EVALUATION_BARS = 30;

const sagaIdSchema = z.string().min(1, 'sagaId must not be empty').max(512);
const symbolSchema = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9._-]{1,20}$/, 'symbol must be 1-20 letters, digits, dot, dash or underscore');
const paramsSchema = z.record(z.string(), z.number().finite());
const inputSchemas = {
  reasoning: z.object({
    sagaId: sagaIdSchema,
    idea: z.string().trim().min(3).max(2000),
    symbol: symbolSchema,
  }),
  compensateReasoning: z.object({ sagaId: sagaIdSchema, cacheKey: z.string().min(1) }),
  codegen: z.object({ sagaId: sagaIdSchema, plan: strategyPlanSchema }),
  artifact: z.object({ sagaId: sagaIdSchema }),
  ml: z.object({
    sagaId: sagaIdSchema,
    symbol: symbolSchema,
    dataset: z.string().trim().min(1).max(500).optional(),
    plan: strategyPlanSchema,
    params: paramsSchema.optional(),
  }),
  backtest: z.object({
    sagaId: sagaIdSchema,
    symbol: symbolSchema,
    dataset: z.string().trim().min(1).max(500).optional(),
    params: paramsSchema,
  }),
};

function parseInput<T>(schema: z.ZodType<T>, input: unknown, step: string): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success)
    throw new InvalidAgentInputError(`invalid ${step} input: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** `<prefix>:plan-cache:<sha256(idea|symbol|provider)>`. */
export function planCacheKey(keyPrefix: string, idea: string, symbol: string, provider: string): string {
  const digest = createHash('sha256')
    .update(`${idea.trim()}|${symbol.toUpperCase()}|${provider}`)
    .digest('hex');
  return `${keyPrefix}:plan-cache:${digest}`;
}

const cacheEntrySchema = z.object({ plan: strategyPlanSchema, createdBy: z.string(), createdAt: z.string() });

// Delete the cache entry only if this saga created it: the check and the delete must be one step.
const DELETE_IF_CREATED_BY = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, entry = pcall(cjson.decode, v)
if ok and type(entry) == 'table' and entry.createdBy == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return -1`;

/** Checks fixed parameters against the family: exact names, whole bars where needed, limits and constraints. */
export function validateParams(
  family: StrategyFamily,
  params: Record<string, number>,
): Record<string, number> {
  const spec = FAMILY_SPECS[family];
  const expected = Object.keys(spec.parameters).sort();
  const got = Object.keys(params).sort();
  if (expected.join(',') !== got.join(',')) {
    throw new InvalidAgentInputError(
      `${family} takes parameters [${expected.join(', ')}], got [${got.join(', ')}]`,
    );
  }
  for (const [name, p] of Object.entries(spec.parameters)) {
    const v = params[name]!;
    if ((p.integer && !Number.isInteger(v)) || v < p.min || v > p.max) {
      throw new InvalidAgentInputError(
        `${name} = ${v} is invalid: expected ${p.integer ? 'a whole number' : 'a number'} in [${p.min}, ${p.max}]`,
      );
    }
  }
  const violation = spec.violates(params);
  if (violation) throw new InvalidAgentInputError(`invalid ${family} parameters: ${violation}`);
  return params;
}

export function createAgents(deps: AgentDeps): AgentHandlers {
  const dataDir = deps.dataDir ?? DEFAULT_DATA_DIR;
  const sandboxTimeoutMs = deps.sandboxTimeoutMs ?? 1000;
  const costPerUnit = (deps.costPerTradeBps ?? 5) / 10_000;
  const trainFraction = deps.trainFraction ?? 0.7;
  if (!(trainFraction > 0 && trainFraction < 1)) throw new Error('trainFraction must be between 0 and 1');
  if (!(costPerUnit >= 0)) throw new Error('costPerTradeBps must be ≥ 0');
  if (!(deps.planCacheTtlS > 0)) throw new Error('planCacheTtlS must be positive');
  const store = new ArtifactStore(deps.redis, deps.keyPrefix);
  const log = deps.logger.child({ component: 'agents' });
  const provider = deps.llm.baseUrl ? llmProviderId(deps.llm) : 'builtin';

  async function loadDataset(symbol: string, dataset: string | undefined): Promise<MarketData> {
    const file = await resolveDataset(dataset ?? symbol, { dataDir, allowedDirs: deps.allowedDataDirs });
    return loadMarketData(file);
  }

  function split(data: MarketData, warmup: number, family: string) {
    const at = Math.floor(data.bars.length * trainFraction);
    const needed = warmup + MIN_EVALUATION_BARS;
    if (at < needed || data.bars.length - at < MIN_EVALUATION_BARS) {
      throw new MarketDataError(
        `data set ${data.name} has ${data.bars.length} rows (${at} for training, ${data.bars.length - at} held out); ` +
          `${family} needs at least ${needed} training rows (warm-up ${warmup} + ${MIN_EVALUATION_BARS}) and ` +
          `${MIN_EVALUATION_BARS} held-out rows`,
        { file: data.file, rows: data.bars.length, needed },
      );
    }
    return at;
  }

  async function codeFor(
    sagaId: string,
    neededBy: string,
  ): Promise<{ source: string; family: StrategyFamily }> {
    const code = await store.require(sagaId, 'codegen', neededBy);
    const family = z.enum(STRATEGY_FAMILIES).safeParse(code.meta.family);
    if (!family.success)
      throw new InvalidAgentInputError(`the codegen artifact of saga ${sagaId} names no family`);
    return { source: code.body, family: family.data };
  }

  const handlers: AgentHandlers = {
    async reasoning(rawInput, options) {
      const input = parseInput(inputSchemas.reasoning, rawInput, 'reasoning');
      const symbol = input.symbol.toUpperCase();
      const cacheKey = planCacheKey(deps.keyPrefix, input.idea, symbol, provider);
      const fromCache = async (): Promise<ReasoningOutput | undefined> => {
        const raw = await deps.redis.get(cacheKey);
        if (raw === null) return undefined;
        let entry: unknown;
        try {
          entry = JSON.parse(raw);
        } catch {
          entry = undefined;
        }
        const parsed = cacheEntrySchema.safeParse(entry);
        if (!parsed.success) {
          log.warn('dropping an unreadable plan-cache entry', { cacheKey });
          await deps.redis.del(cacheKey);
          return undefined;
        }
        return { plan: parsed.data.plan, cacheKey, cached: parsed.data.createdBy !== input.sagaId };
      };
      const hit = await fromCache();
      if (hit) return hit;
      const plan: StrategyPlan = deps.llm.baseUrl
        ? await planWithLlm({ ...deps.llm, baseUrl: deps.llm.baseUrl }, input.idea, symbol, options?.signal)
        : planFromIdea(input.idea, symbol);
      const entry = JSON.stringify({ plan, createdBy: input.sagaId, createdAt: new Date().toISOString() });
      const stored = await deps.redis.set(cacheKey, entry, 'EX', deps.planCacheTtlS, 'NX');
      if (stored === null) {
        // Another saga cached the same idea meanwhile: use theirs, and leave its removal to them.
        const theirs = await fromCache();
        if (theirs) return theirs;
      }
      log.info('planned', { sagaId: input.sagaId, family: plan.family, provider: plan.provider });
      return { plan, cacheKey, cached: false };
    },

    async compensateReasoning(rawInput: ReasoningCompensationInput) {
      const input = parseInput(inputSchemas.compensateReasoning, rawInput, 'compensateReasoning');
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

    async codegen(rawInput: CodegenInput): Promise<CodegenOutput> {
      const input = parseInput(inputSchemas.codegen, rawInput, 'codegen');
      const spec = FAMILY_SPECS[input.plan.family];
      const source = generateStrategySource(input.plan);
      const sampleParams = parameterGrid(input.plan.parameterRanges).find((p) => !spec.violates(p));
      if (!sampleParams) {
        throw new InvalidAgentInputError(`no parameter combination in the plan is valid for ${spec.family}`);
      }
      const sample = smokeSampleBars(Math.max(120, spec.warmupBars(sampleParams) + 60));
      loadStrategy(source, sample, {
        timeoutMs: sandboxTimeoutMs,
        filename: `${input.sagaId}-strategy.js`,
      }).positions(sampleParams);
      const artifact = await store.put(input.sagaId, 'codegen', source, 'application/javascript', {
        family: spec.family,
        smokeParams: sampleParams,
      });
      log.info('code generated', { sagaId: input.sagaId, family: spec.family, bytes: artifact.bytes });
      return { artifact };
    },

    async compensateCodegen(input: ArtifactCompensationInput) {
      await deleteArtifact(input, 'codegen');
    },

    async ml(rawInput: MlInput, options): Promise<MlOutput> {
      const input = parseInput(inputSchemas.ml, rawInput, 'ml');
      const { source, family } = await codeFor(input.sagaId, 'ml');
      if (family !== input.plan.family) {
        throw new InvalidAgentInputError(
          `the plan is ${input.plan.family} but the generated code is ${family}`,
        );
      }
      const spec = FAMILY_SPECS[family];
      const data = await loadDataset(input.symbol, input.dataset);
      const candidates = input.params
        ? [validateParams(family, input.params)]
        : parameterGrid(input.plan.parameterRanges).filter((p) => !spec.violates(p));
      if (candidates.length === 0) {
        throw new InvalidAgentInputError(`no parameter combination in the plan is valid for ${family}`);
      }
      const warmup = Math.max(...candidates.map((p) => spec.warmupBars(p)));
      const trainBars = data.bars.slice(0, split(data, warmup, family));
      const closes = trainBars.map((b) => b.close);
      const runner = loadStrategy(source, trainBars, {
        timeoutMs: sandboxTimeoutMs,
        filename: 'strategy.js',
      });
      const scored: { params: Record<string, number>; sharpe: number }[] = [];
      for (const [i, params] of candidates.entries()) {
        options?.signal?.throwIfAborted();
        const sharpe = sharpeRatio(simulate(closes, runner.positions(params), costPerUnit).returns);
        scored.push({ params, sharpe });
        options?.onProgress?.({ step: 'ml', done: i + 1, total: candidates.length });
        // Let heartbeats and cancellation through between candidates.
        await yieldToEventLoop();
      }
      // Best training Sharpe; ties keep grid order, so the result is deterministic.
      const ranked = [...scored].sort((a, b) => b.sharpe - a.sharpe);
      const best = ranked[0]!;
      const artifact = await store.put(
        input.sagaId,
        'ml',
        JSON.stringify({
          family,
          dataset: data.name,
          method: input.params ? 'fixed' : 'grid-search',
          objective: 'annualised Sharpe on the training split, net of costs',
          params: best.params,
          trainSharpe: best.sharpe,
          candidatesEvaluated: scored.length,
          trainPeriod: {
            from: trainBars[0]!.date,
            to: trainBars[trainBars.length - 1]!.date,
            bars: trainBars.length,
          },
          leaderboard: ranked.slice(0, 5),
        }),
        'application/json',
        { family },
      );
      log.info('parameters fitted', { sagaId: input.sagaId, params: best.params, trainSharpe: best.sharpe });
      return { artifact, params: best.params, trainSharpe: best.sharpe, candidatesEvaluated: scored.length };
    },

    async compensateMl(input: ArtifactCompensationInput) {
      await deleteArtifact(input, 'ml');
    },

    async backtest(rawInput: BacktestInput, options): Promise<BacktestOutput> {
      const input = parseInput(inputSchemas.backtest, rawInput, 'backtest');
      const { source, family } = await codeFor(input.sagaId, 'backtest');
      const params = validateParams(family, input.params);
      const data = await loadDataset(input.symbol, input.dataset);
      const at = split(data, FAMILY_SPECS[family].warmupBars(params), family);
      options?.onProgress?.({ step: 'backtest', done: 0, total: 2, message: 'running the strategy' });
      options?.signal?.throwIfAborted();
      // The whole series goes in so indicators are warmed up when the held-out split starts; positions only
      // look backwards, so the training bars inform but do not leak.
      const runner = loadStrategy(source, data.bars, {
        timeoutMs: sandboxTimeoutMs,
        filename: 'strategy.js',
      });
      const positions = runner.positions(params).slice(at);
      const held = data.bars.slice(at);
      const { tradeList, ...metrics } = backtestMetrics(
        held.map((b) => b.close),
        positions,
        costPerUnit,
      );
      options?.onProgress?.({ step: 'backtest', done: 1, total: 2, message: 'storing the report' });
      const artifact = await store.put(
        input.sagaId,
        'backtest',
        JSON.stringify({
          family,
          dataset: data.name,
          params,
          costPerTradeBps: costPerUnit * 10_000,
          period: { from: held[0]!.date, to: held[held.length - 1]!.date },
          metrics,
          trades: tradeList.slice(0, 500).map((t) => ({
            direction: t.direction,
            entry: held[t.entryIndex]!.date,
            exit: held[t.exitIndex]!.date,
            return: t.return,
            open: t.open,
          })),
        }),
        'application/json',
        { family },
      );
      options?.onProgress?.({ step: 'backtest', done: 2, total: 2 });
      log.info('backtested', { sagaId: input.sagaId, ...metrics });
      return { artifact, metrics };
    },

    async compensateBacktest(input: ArtifactCompensationInput) {
      await deleteArtifact(input, 'backtest');
    },
  };

  async function deleteArtifact(rawInput: ArtifactCompensationInput, step: 'codegen' | 'ml' | 'backtest') {
    const input = parseInput(inputSchemas.artifact, rawInput, `compensate ${step}`);
    const existed = await store.delete(input.sagaId, step);
    log.info(`${step} compensated`, { sagaId: input.sagaId, outcome: existed ? 'deleted' : 'already gone' });
  }

  return handlers;
}

/** The saga's stored artifacts (codegen, ml, backtest that exist), without their bodies. */
export function listArtifacts(deps: Pick<AgentDeps, 'redis' | 'keyPrefix'>, sagaId: string) {
  return new ArtifactStore(deps.redis, deps.keyPrefix).list(sagaId);
}

/** The agents' dependencies from the process configuration. */
export function agentDepsFromConfig(config: Config, redis: Redis, logger?: Logger): AgentDeps {
  return {
    redis,
    keyPrefix: config.keyPrefix,
    dataDir: DEFAULT_DATA_DIR,
    llm: config.llm,
    planCacheTtlS: config.planCacheTtlS,
    logger: logger ?? createLogger(config.logLevel),
  };
}

/**
 * Runs the four steps in order without Temporal (for the express lane or scripts): on failure the finished steps
 * are compensated in reverse order and the original error is rethrown. No durability: a crash loses the run.
 */
export async function runPipelineInline(
  deps: AgentDeps,
  input: { sagaId: string; idea: string; symbol: string; dataset?: string; params?: Record<string, number> },
  options?: AgentCallOptions,
): Promise<{ plan: StrategyPlan; params: Record<string, number>; metrics: BacktestOutput['metrics'] }> {
  const agents = createAgents(deps);
  const undo: (() => Promise<void>)[] = [];
  try {
    const { plan, cacheKey } = await agents.reasoning(input, options);
    undo.push(() => agents.compensateReasoning({ sagaId: input.sagaId, cacheKey }));
    await agents.codegen({ sagaId: input.sagaId, plan }, options);
    undo.push(() => agents.compensateCodegen({ sagaId: input.sagaId }));
    const ml = await agents.ml({ ...input, plan }, options);
    undo.push(() => agents.compensateMl({ sagaId: input.sagaId }));
    const bt = await agents.backtest({ ...input, params: ml.params }, options);
    return { plan, params: ml.params, metrics: bt.metrics };
  } catch (err) {
    for (const compensate of undo.reverse()) {
      await compensate().catch((e: unknown) =>
        deps.logger.error('inline compensation failed', { sagaId: input.sagaId, error: e }),
      );
    }
    throw err;
  }
}

export { AgentError };

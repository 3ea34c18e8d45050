/**
 * What the research pipeline's agents take and return. The workflow (src/workflows), the agents
 * (src/activities) and the express lane's agent task types all speak these types, so each can change its inside
 * without the others noticing. Types only: safe to import from workflow code.
 */

export type StrategyFamily =
  | 'ma_crossover'
  | 'ema_crossover'
  | 'momentum'
  | 'mean_reversion'
  | 'breakout'
  | 'rsi'
  | 'bollinger'
  | 'macd';

/** Long and flat only, or long and short. */
export type TradeDirection = 'long_only' | 'long_short';

/** Exits on top of the family's rule, in percent of the entry close (fixed values, not searched). */
export interface RiskExits {
  stopLossPct?: number;
  takeProfitPct?: number;
}

/** Stay flat while the realised volatility of the last `lookback` bars is above `maxAnnualVolPct` (annualised). */
export interface VolatilityFilter {
  lookback: number;
  maxAnnualVolPct: number;
}

/** A phrase of the idea the planner acted on, and what it made of it. */
export interface UnderstoodPhrase {
  phrase: string;
  meaning: string;
}

/** An inclusive grid the ML step searches: min, min+step, …, max. */
export interface ParameterRange {
  min: number;
  max: number;
  step: number;
}

export interface StrategyPlan {
  family: StrategyFamily;
  /** Parameter name → search range, e.g. `{ fast: {min: 5, max: 20, step: 5}, slow: {...} }`. */
  parameterRanges: Record<string, ParameterRange>;
  rationale: string;
  /** Who made the plan: `builtin` or `llm:<model>` (and `builtin (llm fallback)` when the model failed). */
  provider: string;
  /** @defaultValue the family's default (see FAMILY_SPECS) */
  direction?: TradeDirection;
  risk?: RiskExits;
  volatilityFilter?: VolatilityFilter;
  /** The phrases of the idea the plan acted on. Set by sagalane's planners; optional for stand-in agents. */
  understood?: UnderstoodPhrase[];
  /** What the plan assumed because the idea did not say (or said something it could not use). */
  assumed?: string[];
  /** `idea` when the idea named the family, `default` when nothing in it mapped to one (strict planning refuses). */
  familySource?: 'idea' | 'default';
}

/** Where a step's output lives in Redis (see the artifact store). */
export interface ArtifactRef {
  key: string;
  sagaId: string;
  step: 'codegen' | 'ml' | 'backtest';
  bytes: number;
}

export interface ReasoningInput {
  sagaId: string;
  idea: string;
  symbol: string;
  /** Refuse (non-retryable `UnmappableIdea`) an idea the planner cannot map instead of assuming a default. */
  strict?: boolean;
}
export interface ReasoningOutput {
  plan: StrategyPlan;
  /** The Redis key of the cached plan, handed to the compensation. */
  cacheKey: string;
  /** True when the plan came from the cache rather than the planner. */
  cached: boolean;
}
export interface ReasoningCompensationInput {
  sagaId: string;
  cacheKey: string;
}

export interface CodegenInput {
  sagaId: string;
  plan: StrategyPlan;
}
export interface CodegenOutput {
  artifact: ArtifactRef;
}

export interface MlInput {
  sagaId: string;
  symbol: string;
  /** Data set name (a file in `data/`) or path; default: the symbol's sample set. */
  dataset?: string;
  plan: StrategyPlan;
  /** Fixed parameters: when given, they are validated and used instead of searching. */
  params?: Record<string, number>;
  /** The saga's codegen artifact (default) or code generated from `plan` here (a single lane task). */
  codeFrom?: StrategyCodeSource;
}
export interface MlOutput {
  artifact: ArtifactRef;
  params: Record<string, number>;
  /** Annualised Sharpe of the chosen parameters on the training split. */
  trainSharpe: number;
  candidatesEvaluated: number;
  /** Mean annualised Sharpe of the chosen parameters over the walk-forward validation folds (the selection score). */
  validationSharpe?: number;
  /** Folds the walk-forward validation used (1 when the training split is too short for more). */
  folds?: number;
}

export interface BacktestInput {
  sagaId: string;
  symbol: string;
  dataset?: string;
  params: Record<string, number>;
  /** Needed with `codeFrom: 'plan'`; otherwise, when given, it must name the generated code's family. */
  plan?: StrategyPlan;
  codeFrom?: StrategyCodeSource;
  /** Fee per unit of position change, in basis points. @defaultValue the agents' `costPerTradeBps` (5) */
  costPerTradeBps?: number;
  /** Fill worse than the close by this much per unit of position change, in bps. @defaultValue the agents' `slippageBps` (0) */
  slippageBps?: number;
}

/** Where ml and backtest get the strategy code from. */
export type StrategyCodeSource = 'artifact' | 'plan';
export interface BacktestMetrics {
  totalReturn: number;
  sharpe: number;
  maxDrawdown: number;
  trades: number;
  winRate: number;
  exposure: number;
  buyAndHoldReturn: number;
  bars: number;
  // The fields below are always set by sagalane's backtest agent; optional so stand-in agents need not.
  /** Compound annual growth rate (252 bars a year). */
  cagr?: number;
  /** Annualised mean return over downside deviation (target 0); 0 without losing periods. */
  sortino?: number;
  /** Gross wins / gross losses of trades; null when no trade lost. */
  profitFactor?: number | null;
  /** Mean net return per trade. */
  averageTrade?: number;
  /** Position changes per year, in units of a full position (a flip counts 2). */
  turnover?: number;
  /** Buy and hold over the same bars, without costs. */
  buyAndHold?: { totalReturn: number; cagr: number; sharpe: number; maxDrawdown: number };
  /** The costs the backtest charged, in basis points per unit of position change. */
  costPerTradeBps?: number;
  slippageBps?: number;
}
export interface BacktestOutput {
  artifact: ArtifactRef;
  metrics: BacktestMetrics;
}

/** Compensations of codegen, ml and backtest remove that saga's artifact of that step. Idempotent. */
export interface ArtifactCompensationInput {
  sagaId: string;
}

/**
 * The reasoning step's plan-cache lookup, run as a local activity before the `reasoning` activity: the plan that
 * `reasoning` would return from the cache, or null on a miss (src/activities/research/plan-cache.ts). Optional for a worker:
 * without it every reasoning step runs the `reasoning` activity.
 */
export interface PlanCacheActivities {
  cachedPlan(input: ReasoningInput): Promise<ReasoningOutput | null>;
}

/**
 * Which pipeline activities this worker runs in-process, so the workflow may run them as local activities (asked
 * once per saga, as a local activity; see `LOCAL_STEPS_PATCH` in src/workflows/research/research-pipeline.ts). A worker whose
 * steps go elsewhere (lane dispatch) answers none by default, or the steps it runs as awaited lane steps
 * (`SAGALANE_AWAITED_STEPS`, src/dispatch/lane-dispatch-awaited.ts), or does not register it.
 */
export interface LocalStepsActivities {
  localSteps(): Promise<string[]>;
}

/**
 * The pipeline activities a worker with in-process agents offers to run locally: the quick `codegen` step (bounded by
 * its sandbox time limit) and the compensations (one Redis call each). `ml` and `backtest` stay activities: they run
 * long and heartbeat, which a local activity cannot.
 */
export const LOCAL_STEP_CANDIDATES = [
  'codegen',
  'compensateReasoning',
  'compensateCodegen',
  'compensateMl',
  'compensateBacktest',
] as const;
export type LocalStep = (typeof LOCAL_STEP_CANDIDATES)[number];

/** The activity surface the researchPipeline workflow proxies (names are the Temporal activity types). */
export interface PipelineActivities {
  reasoning(input: ReasoningInput): Promise<ReasoningOutput>;
  compensateReasoning(input: ReasoningCompensationInput): Promise<void>;
  codegen(input: CodegenInput): Promise<CodegenOutput>;
  compensateCodegen(input: ArtifactCompensationInput): Promise<void>;
  ml(input: MlInput): Promise<MlOutput>;
  compensateMl(input: ArtifactCompensationInput): Promise<void>;
  backtest(input: BacktestInput): Promise<BacktestOutput>;
  compensateBacktest(input: ArtifactCompensationInput): Promise<void>;
}

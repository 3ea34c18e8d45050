/**
 * What the research pipeline's agents take and return. The workflow (src/workflows), the agents
 * (src/activities) and the express lane's agent task types all speak these types, so each can change its inside
 * without the others noticing. Types only: safe to import from workflow code.
 */

export type StrategyFamily = 'ma_crossover' | 'momentum' | 'mean_reversion' | 'breakout';

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
  /** Who made the plan: `builtin` or `llm:<model>`. */
  provider: string;
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
}

export interface BacktestInput {
  sagaId: string;
  symbol: string;
  dataset?: string;
  params: Record<string, number>;
  /** Needed with `codeFrom: 'plan'`; otherwise, when given, it must name the generated code's family. */
  plan?: StrategyPlan;
  codeFrom?: StrategyCodeSource;
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
}
export interface BacktestOutput {
  artifact: ArtifactRef;
  metrics: BacktestMetrics;
}

/** Compensations of codegen, ml and backtest remove that saga's artifact of that step. Idempotent. */
export interface ArtifactCompensationInput {
  sagaId: string;
}

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

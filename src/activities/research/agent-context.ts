/**
 * What every agent shares: its dependencies (`AgentDeps`), the options a caller passes per call, and the checked
 * settings, artifact store, logger and data-set loader built from them once (`createAgentContext`).
 */
import path from 'node:path';
import { createLogger, type Config, type Logger, type RedisClient } from '../../core';
import { agentInputSchemas, parseAgentInput } from './agent-schemas';
import { ArtifactStore, artifactSigningKey, type ArtifactStep } from './artifact-store';
import type { ArtifactCompensationInput } from './contracts';
import { runCpuTaskInProcess, type CpuTaskRunner } from './cpu-tasks';
import { MarketDataCache, resolveDataset, SYNTHETIC_SAMPLE_SETS, type MarketData } from './market-data';
import { DEFAULT_WALK_FORWARD_FOLDS } from './parameter-search';

/** The sample data sets shipped with sagalane (`<repo>/data`). */
export const DEFAULT_DATA_DIR = path.resolve(__dirname, '..', '..', '..', 'data');

export interface AgentDeps {
  redis: RedisClient;
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
  /** Seconds an artifact is kept after it is written. @defaultValue none (kept until compensated) */
  artifactTtlS?: number;
  /**
   * Secret the artifacts are signed with (SAGALANE_ARTIFACT_KEY), the same in every process of a deployment.
   * @defaultValue this process's own random key (another process's artifacts are checked by regenerating their code)
   */
  artifactKey?: string;
  logger: Logger;
  /** Time limit of each sandboxed run of generated code. @defaultValue 1000 */
  sandboxTimeoutMs?: number;
  /** Cost of each unit of position change, in basis points of equity. @defaultValue 5 */
  costPerTradeBps?: number;
  /** Share of a data set's bars used to fit parameters; the rest is the backtest's held-out split. @defaultValue 0.7 */
  trainFraction?: number;
  /** Fee per unit of position change beside `costPerTradeBps`: slippage, in bps of equity. @defaultValue 0 */
  slippageBps?: number;
  /** Walk-forward folds ml validates each candidate on (see ./parameter-search). @defaultValue 4 */
  walkForwardFolds?: number;
  /**
   * Runs the CPU-heavy parts (codegen's smoke run, ml's search, the backtest) given their task name and
   * serialisable input; a worker-thread pool plugs in here. @defaultValue in this thread (`runCpuTaskInProcess`)
   */
  runCpuTask?: CpuTaskRunner;
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

/** The checked settings and shared helpers every agent module is built on. */
export interface AgentContext {
  deps: AgentDeps;
  store: ArtifactStore;
  log: Logger;
  sandboxTimeoutMs: number;
  /** Fee plus slippage per unit of position change, as a fraction of equity (what ml's search charges). */
  costPerUnit: number;
  costPerTradeBps: number;
  slippageBps: number;
  trainFraction: number;
  walkForwardFolds: number;
  runCpuTask: CpuTaskRunner;
  loadDataset(symbol: string, dataset: string | undefined): Promise<MarketData>;
  /** The compensation of codegen, ml and backtest: delete that saga's artifact of that step (idempotent). */
  deleteArtifact(input: ArtifactCompensationInput, step: ArtifactStep): Promise<void>;
}

export function createAgentContext(deps: AgentDeps): AgentContext {
  const dataDir = deps.dataDir ?? DEFAULT_DATA_DIR;
  const sandboxTimeoutMs = deps.sandboxTimeoutMs ?? 1000;
  const costPerTradeBps = deps.costPerTradeBps ?? 5;
  const slippageBps = deps.slippageBps ?? 0;
  const costPerUnit = (costPerTradeBps + slippageBps) / 10_000;
  const trainFraction = deps.trainFraction ?? 0.7;
  const walkForwardFolds = deps.walkForwardFolds ?? DEFAULT_WALK_FORWARD_FOLDS;
  if (!(trainFraction > 0 && trainFraction < 1)) throw new Error('trainFraction must be between 0 and 1');
  if (!(costPerTradeBps >= 0)) throw new Error('costPerTradeBps must be ≥ 0');
  if (!(slippageBps >= 0)) throw new Error('slippageBps must be ≥ 0');
  if (!Number.isInteger(walkForwardFolds) || walkForwardFolds < 1 || walkForwardFolds > 20)
    throw new Error('walkForwardFolds must be an integer in 1..20');
  if (!(deps.planCacheTtlS > 0)) throw new Error('planCacheTtlS must be positive');
  const store = new ArtifactStore(
    deps.redis,
    deps.keyPrefix,
    deps.artifactTtlS,
    artifactSigningKey(deps.artifactKey),
  );
  const log = deps.logger.child({ component: 'agents' });
  // Parsed data sets, shared by ml and backtest of every saga these agents run (re-read when a file changes).
  const datasets = new MarketDataCache();
  return {
    deps,
    store,
    log,
    sandboxTimeoutMs,
    costPerUnit,
    costPerTradeBps,
    slippageBps,
    trainFraction,
    walkForwardFolds,
    runCpuTask: deps.runCpuTask ?? runCpuTaskInProcess,
    async loadDataset(symbol, dataset) {
      const file = await resolveDataset(dataset ?? symbol, { dataDir, allowedDirs: deps.allowedDataDirs });
      const data = await datasets.load(file);
      const shipped = path.dirname(file) === DEFAULT_DATA_DIR;
      return {
        ...data,
        synthetic: shipped && (SYNTHETIC_SAMPLE_SETS as readonly string[]).includes(data.name),
      };
    },
    async deleteArtifact(rawInput, step) {
      const input = parseAgentInput(agentInputSchemas.artifact, rawInput, `compensate ${step}`);
      const existed = await store.delete(input.sagaId, step);
      log.info(`${step} compensated`, {
        sagaId: input.sagaId,
        outcome: existed ? 'deleted' : 'already gone',
      });
    },
  };
}

/** The agents' dependencies from the process configuration. */
export function agentDepsFromConfig(config: Config, redis: RedisClient, logger?: Logger): AgentDeps {
  return {
    redis,
    keyPrefix: config.keyPrefix,
    dataDir: DEFAULT_DATA_DIR,
    llm: config.llm,
    planCacheTtlS: config.planCacheTtlS,
    artifactTtlS: config.artifactTtlS,
    artifactKey: config.artifactKey,
    logger: logger ?? createLogger(config.logLevel),
  };
}

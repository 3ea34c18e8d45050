/**
 * The agents' outputs, pinned: for every strategy family (and the plan modifiers: direction, stop-loss, take-profit,
 * volatility filter) on each shipped data set, the steps' return values and the artifacts they store (body and
 * metadata) hash to what test/agents/fixtures/agent-outputs.json recorded, the generated code's text apart from the
 * rest. Speed work on the agents (caches, fewer copies of the bars, reused sandbox set-up, leaner generated code)
 * must not change a single number of what a saga produces; this test is what says so. The fixture was written by the
 * code before that work (`UPDATE_AGENT_OUTPUTS=1` rewrites it).
 *
 * The same sagas run twice through one set of agents, so whatever the agents cache between calls is exercised
 * (the second run must give the first run's hashes), and once more with the CPU parts on the lane's worker-thread
 * pools (the `npm start` stack's path), whose results must be the same.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type Redis from 'ioredis';
import { createAgents, type AgentDeps } from '../../src/activities/research/agents';
import { ArtifactStore } from '../../src/activities/research/artifact-store';
import { HandlerPools } from '../../src/lane/handler-pool';
import { createPooledCpuTaskRunner } from '../../src/activities/research/pooled-cpu-tasks';
import { createLogger } from '../../src/logger';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';

const FIXTURE = path.join(__dirname, 'fixtures', 'agent-outputs.json');

const IDEAS = [
  'trend following with moving averages',
  'EMA crossover with a stop loss',
  'momentum only when volatility is below 20%',
  'mean reversion',
  '20-day breakout, exit on a 10 day low',
  'RSI(14) < 30 long/short',
  'bollinger bands',
  'MACD 8/17/9 long and short',
  'trend following with a 5% stop loss and 10% take profit',
  'SMA crossover with a 20-day volatility filter under 25%',
];
const DATASETS = ['DEMO', 'TREND', 'MEANREV'];

/**
 * What is pinned per idea and data set: the steps' results (the plan, every step's return value, the ml and backtest
 * artifacts, the codegen artifact's metadata) and, apart, the generated code's text. A change to how the code is
 * written (not to what it computes) changes `code` only.
 */
interface Pinned {
  results: string;
  code: string;
}

/** JSON with object keys sorted: a plan read back from the plan cache lists its fields in another order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Stable across runs: no timestamps, and the run's key prefix and saga id written as placeholders. */
function digest(value: unknown, ...variable: string[]): string {
  let text = canonical(value);
  for (const v of variable) text = text.split(v).join('<var>');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

describe('agent outputs are pinned', () => {
  let redis: Redis;
  const keyPrefix = uniquePrefix('agent-outputs');
  let deps: AgentDeps;
  let store: ArtifactStore;

  beforeAll(() => {
    redis = redisClient();
    deps = {
      redis,
      keyPrefix,
      llm: { model: 'unused', timeoutMs: 1000 },
      planCacheTtlS: 600,
      logger: createLogger('silent'),
    };
    store = new ArtifactStore(redis, keyPrefix);
  });
  afterAll(async () => {
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
  });

  async function runAll(
    agents: ReturnType<typeof createAgents>,
    run: string,
  ): Promise<Record<string, Pinned>> {
    const out: Record<string, Pinned> = {};
    for (const idea of IDEAS) {
      for (const symbol of DATASETS) {
        const sagaId = `${run}-${digest(idea)}-${symbol}`;
        const reasoning = await agents.reasoning({ sagaId, idea, symbol });
        const codegen = await agents.codegen({ sagaId, plan: reasoning.plan });
        const ml = await agents.ml({ sagaId, symbol, plan: reasoning.plan });
        const backtest = await agents.backtest({ sagaId, symbol, params: ml.params });
        const artifacts = [];
        for (const step of ['codegen', 'ml', 'backtest'] as const) {
          const a = (await store.get(sagaId, step))!;
          artifacts.push({ step, body: a.body, meta: a.meta, contentType: a.contentType });
        }
        const strip = <T extends { artifact: object }>(o: T) => ({ ...o, artifact: undefined });
        const [code, ...others] = artifacts;
        out[`${idea} | ${symbol}`] = {
          results: digest(
            {
              plan: reasoning.plan,
              codegen: strip(codegen),
              ml: strip(ml),
              backtest: strip(backtest),
              bytes: [ml.artifact.bytes, backtest.artifact.bytes],
              artifacts: [{ ...code!, body: undefined }, ...others],
            },
            keyPrefix,
            sagaId,
          ),
          code: digest({ body: code!.body, bytes: codegen.artifact.bytes }, keyPrefix, sagaId),
        };
      }
    }
    return out;
  }

  it('every family on every sample set gives the recorded outputs, twice through the same agents', async () => {
    const agents = createAgents(deps);
    const first = await runAll(agents, 'a');
    if (process.env.UPDATE_AGENT_OUTPUTS === '1') {
      fs.mkdirSync(path.dirname(FIXTURE), { recursive: true });
      fs.writeFileSync(FIXTURE, `${JSON.stringify(first, null, 2)}\n`);
    }
    const expected = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Record<string, Pinned>;
    expect(Object.keys(first)).toHaveLength(IDEAS.length * DATASETS.length);
    expect(first).toEqual(expected);
    expect(await runAll(agents, 'b')).toEqual(expected);
  }, 120_000);

  it('the same outputs with the CPU parts on worker-thread pools', async () => {
    const pools = new HandlerPools({ threads: { express: 1, standard: 1 } });
    try {
      const agents = createAgents({ ...deps, runCpuTask: createPooledCpuTaskRunner(pools) });
      const expected = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Record<string, Pinned>;
      expect(await runAll(agents, 'p')).toEqual(expected);
    } finally {
      await pools.close();
    }
  }, 180_000);
});

/**
 * What the real agents cost per saga step, without Temporal or the lane around them: the research pipeline's four
 * steps (`createAgents`, real Redis, a shipped data set, the bench:saga idea, so reasoning is a plan-cache hit after
 * the first saga) run one saga at a time, with the CPU parts in this thread (`inproc`, the in-worker saga worker's
 * path) or on the lane's worker-thread pools (`pool`, the `npm start` stack's path). Per step: median wall time and
 * median CPU (`process.cpuUsage()`, all threads of this process, so a pool thread's work is counted too). CPU is the
 * figure to compare on a shared box; run A and B one after the other, more than once.
 *
 *   npx tsx bench/lib/saga-agent-cost.ts [inproc|pool] [--sagas 40]
 */
import { performance } from 'node:perf_hooks';
import { createAgents } from '../../src/activities/research/agents';
import { defaultPoolThreads, HandlerPools } from '../../src/lane/handler-pool';
import { createPooledCpuTaskRunner } from '../../src/activities/research/pooled-cpu-tasks';
import { openRedis } from '../../src/lane/redis-connections';
import { createLogger } from '../../src/logger';

const IDEA = 'trend following with moving averages';
const SYMBOL = 'DEMO';
const WARMUP = 5;

async function main(): Promise<void> {
  const mode = process.argv[2] === 'pool' ? 'pool' : 'inproc';
  const i = process.argv.indexOf('--sagas');
  const sagas = i >= 0 ? Number(process.argv[i + 1]) : 40;
  const redis = openRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const pools = new HandlerPools({ threads: defaultPoolThreads() });
  const keyPrefix = `sagaagentcost-${Date.now().toString(36)}`;
  const agents = createAgents({
    redis,
    keyPrefix,
    llm: { model: 'unused', timeoutMs: 1000 },
    planCacheTtlS: 600,
    logger: createLogger('warn'),
    ...(mode === 'pool' ? { runCpuTask: createPooledCpuTaskRunner(pools) } : {}),
  });
  const samples: Record<string, { wall: number[]; cpu: number[] }> = {};
  const timed = async <T>(step: string, record: boolean, f: () => Promise<T>): Promise<T> => {
    const cpu = process.cpuUsage();
    const t = performance.now();
    const out = await f();
    const wall = performance.now() - t;
    const used = process.cpuUsage(cpu);
    if (record) {
      const s = (samples[step] ??= { wall: [], cpu: [] });
      s.wall.push(wall);
      s.cpu.push((used.user + used.system) / 1000);
    }
    return out;
  };
  try {
    for (let n = 0; n < WARMUP + sagas; n++) {
      const record = n >= WARMUP;
      const sagaId = `cost-${n}`;
      const t = performance.now();
      const cpu = process.cpuUsage();
      const r = await timed('reasoning', record, () =>
        agents.reasoning({ sagaId, idea: IDEA, symbol: SYMBOL }),
      );
      await timed('codegen', record, () => agents.codegen({ sagaId, plan: r.plan }));
      const ml = await timed('ml', record, () => agents.ml({ sagaId, symbol: SYMBOL, plan: r.plan }));
      await timed('backtest', record, () => agents.backtest({ sagaId, symbol: SYMBOL, params: ml.params }));
      if (record) {
        const used = process.cpuUsage(cpu);
        const s = (samples['saga (4 steps)'] ??= { wall: [], cpu: [] });
        s.wall.push(performance.now() - t);
        s.cpu.push((used.user + used.system) / 1000);
      }
    }
  } finally {
    await pools.close();
    const keys = await redis.keys(`${keyPrefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  console.log(`${mode}: ${sagas} sagas one at a time (after ${WARMUP}); median ms per step`);
  console.log(`  ${'step'.padEnd(16)} ${'wall'.padStart(7)} ${'cpu'.padStart(7)}`);
  for (const [step, s] of Object.entries(samples)) {
    console.log(
      `  ${step.padEnd(16)} ${median(s.wall).toFixed(1).padStart(7)} ${median(s.cpu).toFixed(1).padStart(7)}`,
    );
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});

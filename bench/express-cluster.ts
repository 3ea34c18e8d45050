/**
 * `npm run bench:express -- --cluster`: one hot task type (the no-op `echo`) at saturation on a local Redis Cluster
 * (3 masters, 3 replicas; started here unless REDIS_CLUSTER_NODES names one) with 1 stream partition and with 3,
 * and on the single Redis at REDIS_URL, in the same run. Per run: tasks/s, the load average, and per shard (each
 * master, and the single Redis) the Redis CPU time and command time per task, so the cost of spreading a type over
 * shards is visible next to the throughput it buys. On 2 shared cores every process (the bench's producer and
 * worker, six redis-servers) competes for the same CPU: read the figures with the load average beside them.
 *
 * `--scale <f>` multiplies the durations; below 1 (a smoke run) nothing is written. At 1 or more the figures go to
 * bench/results/express-cluster-<time>.json and the `express-cluster` section of docs/BENCHMARKS.md.
 */
import Redis from 'ioredis';
import { clusterUrl } from '../src/config';
import { echoTaskType } from '../src/lane/builtin-task-types';
import { ExpressClient, ExpressWorker, openRedis, type TaskType } from '../src/lane';
import { calculateSlot, groupBySlot, scanKeys } from '../src/lane/cluster-slots';
import { partitionTags } from '../src/lane/partitions';
import { isCluster, type RedisClient } from '../src/lane/redis-connections';
import { createLogger } from '../src/logger';
import { startRedisCluster, type RedisClusterHandle } from '../test/helpers/redis-cluster';
import { saturation } from './lib/load';
import { describeMachine, loadAverage } from './lib/machine';
import { status } from './lib/progress';
import { benchPrefix, redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import { fmtRate } from './lib/stats';
import { consoleTable, markdownTable, type Row } from './lib/table';

const CONCURRENCY = 50;

interface ShardCost {
  node: string;
  /** Redis CPU (user + sys) per task, µs. */
  cpuUsPerTask: number;
  /** Time Redis spent in commands per task, µs (INFO commandstats). */
  commandUsPerTask: number;
  /** Share of the run's commands this shard served. */
  commandShare: number;
  /** Stream partitions of the hot type whose slot this shard owns. */
  partitions: number;
}

interface ClusterRun {
  name: string;
  partitions: number;
  tasksPerSecond: number;
  completed: number;
  loadBefore: number[];
  loadAfter: number[];
  shards: ShardCost[];
}

interface NodeCounters {
  cpuS: number;
  commandUs: number;
  calls: number;
}

async function countersOf(node: RedisClient): Promise<NodeCounters> {
  const cpu = (await node.info('cpu')) as string;
  const stats = (await node.info('commandstats')) as string;
  const num = (re: RegExp) => Number(re.exec(cpu)?.[1] ?? 0);
  let commandUs = 0;
  let calls = 0;
  for (const m of stats.matchAll(/^cmdstat_[^:]+:calls=(\d+),usec=(\d+)/gm)) {
    calls += Number(m[1]);
    commandUs += Number(m[2]);
  }
  return { cpuS: num(/used_cpu_user:([\d.]+)/) + num(/used_cpu_sys:([\d.]+)/), commandUs, calls };
}

/** The Redis servers a run's keys live on: every master of a cluster, or the one Redis. */
function serversOf(admin: RedisClient): Redis[] {
  return isCluster(admin) ? admin.nodes('master') : [admin];
}

async function deleteUnder(admin: RedisClient, prefix: string): Promise<void> {
  await scanKeys(admin, `${prefix}*`, async (keys) => {
    for (const group of groupBySlot(keys, (k) => k)) await admin.unlink(...group);
  });
}

async function measure(
  name: string,
  url: string,
  admin: RedisClient,
  partitions: number,
  prefix: string,
  scale: number,
): Promise<ClusterRun> {
  const type: TaskType = { ...echoTaskType, defaults: { ...echoTaskType.defaults, partitions } } as TaskType;
  const client = new ExpressClient({ types: [type], redisUrl: url, keyPrefix: prefix });
  const worker = new ExpressWorker({
    types: [type],
    redisUrl: url,
    keyPrefix: prefix,
    concurrency: { min: CONCURRENCY, max: CONCURRENCY },
    autoscaleIntervalMs: 0,
    expressReserve: 0,
    logger: createLogger('error'),
  });
  let done = 0;
  // A partition's events name the partition (`echo~1`) as their type.
  worker.on('task:succeeded', () => done++);
  await worker.start();
  const servers = serversOf(admin);
  const before = await Promise.all(servers.map(countersOf));
  const loadBefore = loadAverage();
  try {
    const result = await saturation(
      { label: `${name} saturation c=${CONCURRENCY}`, durationMs: 5000 * scale },
      (n) =>
        client
          .submitMany(Array.from({ length: n }, () => ({ type: 'echo', payload: { message: 'benchmark' } })))
          .then(() => undefined),
      () => done,
    );
    const after = await Promise.all(servers.map(countersOf));
    // Whole-run counts (warm-up included) on both sides, like bench:express's own cost figures.
    const tasks = Math.max(1, done);
    const totalCalls = after.reduce((n, a, i) => n + a.calls - before[i]!.calls, 0);
    // Which shard owns each partition's slot (ioredis's slot table: slots[slot][0] is the master's host:port).
    const owners = partitionTags('echo', partitions).map((tag) =>
      isCluster(admin) ? admin.slots[calculateSlot(client.keys.stream(tag, 'standard'))]?.[0] : undefined,
    );
    const shards = servers.map((s, i) => ({
      node: `${s.options.host ?? '127.0.0.1'}:${s.options.port ?? 6379}`,
      partitions: isCluster(admin)
        ? owners.filter((o) => o === `${s.options.host}:${s.options.port}`).length
        : partitions,
      cpuUsPerTask: ((after[i]!.cpuS - before[i]!.cpuS) * 1e6) / tasks,
      commandUsPerTask: (after[i]!.commandUs - before[i]!.commandUs) / tasks,
      commandShare: totalCalls ? (after[i]!.calls - before[i]!.calls) / totalCalls : 0,
    }));
    return {
      name,
      partitions,
      tasksPerSecond: result.tasksPerSecond,
      completed: result.completed,
      loadBefore,
      loadAfter: loadAverage(),
      shards,
    };
  } finally {
    await worker.stop();
    await client.close();
    await deleteUnder(admin, prefix);
  }
}

export async function runClusterBench(scale: number): Promise<void> {
  const startedAt = new Date();
  const singleUrl = redisUrlFromEnv();
  let own: RedisClusterHandle | undefined;
  const given = process.env.REDIS_CLUSTER_NODES;
  if (!given) {
    status('starting a local Redis Cluster (3 masters, 3 replicas)');
    own = await startRedisCluster();
  }
  const nodes = (given ?? own!.nodesList).split(',');
  const url = clusterUrl(nodes);
  const single = new Redis(singleUrl, { maxRetriesPerRequest: 3 });
  const cluster = openRedis(url, { maxRetriesPerRequest: 3 });
  const runs: ClusterRun[] = [];
  try {
    await cluster.ping();
    const machine = await describeMachine(single);
    status(`single Redis ${singleUrl}; cluster ${nodes.join(',')}; load ${machine.loadAtStart.join(' ')}`);
    const prefix = benchPrefix('express-cluster');
    runs.push(await measure('single Redis, 1 partition', singleUrl, single, 1, `${prefix}:single`, scale));
    runs.push(await measure('cluster, 1 partition', url, cluster, 1, `${prefix}:c1`, scale));
    runs.push(await measure('cluster, 3 partitions', url, cluster, 3, `${prefix}:c3`, scale));

    const base = runs[0]!.tasksPerSecond;
    const rows: Row[] = runs.map((r) => ({
      run: r.name,
      'tasks/s': fmtRate(r.tasksPerSecond),
      '÷ single': (r.tasksPerSecond / base).toFixed(2),
      'Redis CPU µs/task (all shards)': r.shards.reduce((n, s) => n + s.cpuUsPerTask, 0).toFixed(1),
      'load 1 min before → after': `${r.loadBefore[0]} → ${r.loadAfter[0]}`,
    }));
    const shardRows: Row[] = runs.flatMap((r) =>
      r.shards.map((s) => ({
        run: r.name,
        shard: s.node,
        partitions: String(s.partitions),
        'CPU µs/task': s.cpuUsPerTask.toFixed(1),
        'command µs/task': s.commandUsPerTask.toFixed(1),
        'share of commands': `${Math.round(s.commandShare * 100)} %`,
      })),
    );
    process.stdout.write(`\n${consoleTable(rows)}\n\n${consoleTable(shardRows)}\n`);
    if (scale < 1) {
      status(`--scale ${scale} (< 1): smoke run, nothing written`);
      return;
    }
    const file = writeReport({
      name: 'express-cluster',
      command: commandLine('bench:express'),
      machine,
      startedAt,
      markdown: [
        `One hot type (\`echo\`, no-op handler) at saturation (${CONCURRENCY} slots, one worker and the producer in ` +
          'the bench process), on the single Redis and on a local 3-master / 3-replica cluster with 1 and 3 stream ' +
          'partitions. Per shard: the partitions whose slot it owns, and Redis CPU and command time per task over ' +
          'the whole run. Partitions go to slots by hash, so 3 partitions may share masters.',
        '',
        markdownTable(rows),
        '',
        markdownTable(shardRows),
      ].join('\n'),
      data: { concurrency: CONCURRENCY, scale, runs },
    });
    status(`wrote ${file} and the express-cluster section of docs/BENCHMARKS.md`);
  } finally {
    single.disconnect();
    cluster.disconnect();
    await own?.stop();
  }
}

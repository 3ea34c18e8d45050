/**
 * Where a load spends Redis and Node time, from counters read before and after it: Redis `INFO cpu` (the server's
 * own CPU seconds), `INFO commandstats` (calls and microseconds per command; commands run inside Lua scripts are
 * counted too), and this process's `process.cpuUsage()`. Divided by the tasks done, these say how much each task
 * costs each side. The shared Redis may serve others meanwhile, so figures are upper bounds.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type Redis from 'ioredis';

interface Snapshot {
  redisCpuSeconds: number;
  commands: Map<string, { calls: number; usec: number }>;
  nodeCpu: NodeJS.CpuUsage;
  elu: EventLoopUtilization;
  at: number;
}

export interface CostPerTask {
  /** Redis server CPU per task (µs). */
  redisCpuUs: number;
  /** This (bench) process's CPU per task (µs): producer + consumer + handler. */
  nodeCpuUs: number;
  /** Top-level and in-script commands, by µs per task. */
  commands: { command: string; callsPerTask: number; usPerTask: number }[];
  /**
   * Share of the run this process's event loop was busy (0-1). Below ~0.9 at saturation, the consumer waits on
   * round trips rather than on its own CPU: throughput is then bound by how reads and writes overlap.
   */
  eventLoopBusy: number;
  /** Redis server CPU over the run, in cores (0-1 for its one main thread). */
  redisBusy: number;
  /** Tasks per second of wall-clock time over the run. */
  tasksPerSecond: number;
}

async function snapshot(redis: Redis): Promise<Snapshot> {
  const [cpu, stats] = (await Promise.all([redis.info('cpu'), redis.info('commandstats')])) as [
    string,
    string,
  ];
  const num = (re: RegExp) => Number(re.exec(cpu)?.[1] ?? 0);
  const commands = new Map<string, { calls: number; usec: number }>();
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    commands.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return {
    redisCpuSeconds: num(/used_cpu_sys:([\d.]+)/) + num(/used_cpu_user:([\d.]+)/),
    commands,
    nodeCpu: process.cpuUsage(),
    elu: performance.eventLoopUtilization(),
    at: performance.now(),
  };
}

export async function profileLoad<T>(
  redis: Redis,
  run: () => Promise<T>,
  tasksDone: (result: T) => number,
): Promise<{ result: T; cost: CostPerTask }> {
  const before = await snapshot(redis);
  const result = await run();
  const after = await snapshot(redis);
  const tasks = Math.max(1, tasksDone(result));
  const node = process.cpuUsage(before.nodeCpu);
  const commands = [...after.commands.entries()]
    .map(([command, a]) => {
      const b = before.commands.get(command) ?? { calls: 0, usec: 0 };
      return { command, callsPerTask: (a.calls - b.calls) / tasks, usPerTask: (a.usec - b.usec) / tasks };
    })
    .filter((c) => c.callsPerTask >= 0.01)
    .sort((x, y) => y.usPerTask - x.usPerTask);
  return {
    result,
    cost: {
      redisCpuUs: ((after.redisCpuSeconds - before.redisCpuSeconds) * 1e6) / tasks,
      nodeCpuUs: (node.user + node.system) / tasks,
      commands,
      eventLoopBusy: performance.eventLoopUtilization(after.elu, before.elu).utilization,
      redisBusy: ((after.redisCpuSeconds - before.redisCpuSeconds) * 1000) / (after.at - before.at),
      tasksPerSecond: (tasks * 1000) / (after.at - before.at),
    },
  };
}

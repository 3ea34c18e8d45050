/**
 * Where a load spends Redis and Node time, from counters read before and after it: Redis `INFO cpu` (the server's
 * own CPU seconds), `INFO commandstats` (calls and microseconds per command; commands run inside Lua scripts are
 * counted too), and this process's `process.cpuUsage()`. Divided by the tasks done, these say how much each task
 * costs each side. The shared Redis may serve others meanwhile, so figures are upper bounds.
 */
import type Redis from 'ioredis';

interface Snapshot {
  redisCpuSeconds: number;
  commands: Map<string, { calls: number; usec: number }>;
  nodeCpu: NodeJS.CpuUsage;
}

export interface CostPerTask {
  /** Redis server CPU per task (µs). */
  redisCpuUs: number;
  /** This (bench) process's CPU per task (µs): producer + consumer + handler. */
  nodeCpuUs: number;
  /** Top-level and in-script commands, by µs per task. */
  commands: { command: string; callsPerTask: number; usPerTask: number }[];
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
    },
  };
}

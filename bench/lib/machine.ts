/** Describes the machine a benchmark ran on, so figures in docs/BENCHMARKS.md can be compared honestly. */
import fs from 'node:fs';
import os from 'node:os';
import type Redis from 'ioredis';

export interface MachineDescription {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  redis: string;
  /** 1, 5 and 15 minute load averages when the run started and when it ended. */
  loadAtStart: number[];
  loadAtEnd?: number[];
}

function cpuModel(): string {
  try {
    const line = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1]!.trim();
  } catch {
    // Not Linux: fall back to what Node knows.
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

export async function describeMachine(redis: Redis): Promise<MachineDescription> {
  const info = (await redis.info('server')) as string;
  const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  return {
    cpuModel: cpuModel(),
    cores: os.availableParallelism?.() ?? os.cpus().length,
    ramGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    redis: redisVersion,
    loadAtStart: loadAverage(),
  };
}

export function loadAverage(): number[] {
  return os.loadavg().map((l) => Math.round(l * 100) / 100);
}

export function machineMarkdown(m: MachineDescription): string {
  return [
    `- CPU: ${m.cpuModel}, ${m.cores} cores; RAM ${m.ramGiB} GiB; ${m.os}`,
    `- Node ${m.node}, Redis ${m.redis}`,
    `- Load average (1/5/15 min) at start: ${m.loadAtStart.join(' / ')}` +
      (m.loadAtEnd ? `; at end: ${m.loadAtEnd.join(' / ')}` : '') +
      ` (${m.cores} cores: a load above ${m.cores} means other work competed for the CPU)`,
  ].join('\n');
}

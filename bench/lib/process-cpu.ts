/**
 * CPU time of the processes a saga benchmark runs on: the benchmark's own process (client and the workers in it,
 * `process.cpuUsage`) and the Temporal dev server child (utime + stime from `/proc/<pid>/stat`, Linux). On a shared
 * 2-core box sagas/s swing with the neighbours; the CPU each saga costs much less, and it is what bounds
 * throughput: at most cores × 1000 / (ms per saga) sagas a second, whatever the concurrency.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** A clock of the dev server's CPU, in ms: the `temporal server start-dev` process listening on `address`'s port. */
export function devServerCpuClock(address: string): () => number {
  const port = address.split(':').pop();
  const pid = Number(
    execFileSync('pgrep', ['-f', `start-dev --port ${port} `], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  );
  return () => {
    // Fields 14 and 15 of /proc/<pid>/stat (after the command name), in clock ticks of 10 ms.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
}

export interface CpuPerItem {
  /** This process (client, workers) per item, ms. */
  processMs: number;
  /** The dev server per item, ms. */
  serverMs: number;
}

/** Starts measuring; `stop(items)` gives the CPU per item of both since then. */
export function cpuMeter(serverCpuMs: () => number): { stop(items: number): CpuPerItem } {
  const process0 = process.cpuUsage();
  const server0 = serverCpuMs();
  return {
    stop(items) {
      const used = process.cpuUsage(process0);
      return {
        processMs: (used.user + used.system) / 1000 / items,
        serverMs: (serverCpuMs() - server0) / items,
      };
    },
  };
}

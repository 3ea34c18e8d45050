/**
 * A/B of two builds of the workflow code on one dev server: a saga worker per bundle (each with its own workflow
 * thread), the same near-instant agents, the sagas of the two taking turns so both see the same neighbours. On a
 * shared 2-core box the absolute figures swing from run to run; the difference between two subjects measured side by
 * side does much less.
 *
 *   npm run bundle:workflows -- /tmp/new.js            # this checkout
 *   (cd <other checkout> && npm run bundle:workflows -- /tmp/old.js)
 *   npx tsx bench/lib/saga-bundle-ab.ts /tmp/old.js /tmp/new.js [--sagas 100] [--blocks 6]
 *
 * Prints, per bundle: p50 / mean latency one saga at a time (A, B, A, B, …), and sagas/s with the CPU per saga
 * (this process: client, both workers; plus the dev server) at 50 in flight, in alternating 5-second blocks.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { startTemporalDevServer } from '../../src/dev/temporal-server';
import { createLogger } from '../../src/logger';
import { startSagaWorker } from '../../src/runtime/saga-worker';
import {
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineWorkflowId,
} from '../../src/workflows/research/pipeline-contract';
import { createFastPipelineActivities } from './fast-pipeline-activities';
import { cpuMeter, devServerCpuClock } from './process-cpu';
import { summarize } from './stats';

const BLOCK_MS = 5000;

function intArg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1)
    throw new Error(`${flag} must be a positive integer (got ${process.argv[i + 1]})`);
  return v;
}

async function main(): Promise<void> {
  const bundles = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (bundles.length !== 2 || !bundles.every((b) => fs.existsSync(b))) {
    throw new Error('usage: saga-bundle-ab.ts <bundle A> <bundle B> [--sagas N] [--blocks N]');
  }
  const sagas = intArg('--sagas', 100);
  const blocks = intArg('--blocks', 6);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  // The dev server sagalane starts everywhere (its flags, the saga search attributes), in memory.
  const server = await startTemporalDevServer({ logLevel: 'error' });
  const native = await NativeConnection.connect({ address: server.address });
  const client = new Client({ connection: native });
  const subjects = await Promise.all(
    bundles.map(async (bundle, i) => {
      const taskQueue = `ab-${i}-${randomUUID().slice(0, 6)}`;
      const worker = await startSagaWorker({
        config: loadConfig({}),
        connection: native,
        taskQueue,
        activities: createFastPipelineActivities().activities,
        logger: createLogger('error'),
        workflowBundlePath: bundle,
      });
      const one = async () => {
        const h = await client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
          taskQueue,
          workflowId: pipelineWorkflowId('AB', randomUUID()),
          args: [{ idea: 'a/b saga', symbol: 'AB' }],
          requestEagerStart: true,
        });
        await h.result();
      };
      return { label: `${'AB'[i]} ${bundle}`, worker, one, latencies: [] as number[], c50: [] as number[][] };
    }),
  );
  const serverCpuMs = devServerCpuClock(server.address);
  // Warm-up, then one at a time, taking turns.
  for (let i = 0; i < 10; i++) for (const s of subjects) await s.one();
  for (let i = 0; i < sagas; i++) {
    for (const s of subjects) {
      const t0 = performance.now();
      await s.one();
      s.latencies.push(performance.now() - t0);
    }
  }
  // 50 in flight, in alternating blocks: [sagas/s, this process's CPU ms per saga, the server's].
  for (let b = 0; b < blocks; b++) {
    const s = subjects[b % 2]!;
    let done = 0;
    const end = performance.now() + BLOCK_MS;
    const meter = cpuMeter(serverCpuMs);
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (performance.now() < end) {
          await s.one();
          done++;
        }
      }),
    );
    const cpu = meter.stop(done);
    s.c50.push([done / (BLOCK_MS / 1000), cpu.processMs, cpu.serverMs]);
    process.stderr.write(
      `block ${b + 1}/${blocks} (${s.label.slice(0, 1)}): ${(done / 5).toFixed(1)} sagas/s\n`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const s of subjects) {
    const l = summarize(s.latencies);
    const col = (k: number) => median(s.c50.map((r) => r[k]!)).toFixed(1);
    console.log(
      `${s.label}: one at a time p50 ${l.p50.toFixed(1)} ms, mean ${l.mean.toFixed(1)} ms | 50 in flight (median of ` +
        `${s.c50.length} blocks) ${col(0)} sagas/s, CPU per saga: worker+client ${col(1)} ms, server ${col(2)} ms`,
    );
  }
  for (const s of subjects) await s.worker.stop();
  await native.close();
  await server.stop();
  process.exit(0);
}

void main();

/**
 * The experiment behind "Where the time of one saga goes" in docs/BENCHMARKS.md: A/B of the speed levers of issue 14
 * (dev-server dynamic config, eager workflow start, worker options) on the same box, one variant after the other,
 * each on a fresh dev server, each with the bare Temporal peer (bench/lib/bare-workflow.ts) measured on the same
 * server right before it, so the variants are compared by their ratio to the peer rather than by absolute ms on a
 * shared machine. Per variant: 30 sagas one at a time after 5 of warm-up (and 30 bare ones), then 5 s at 50 in
 * flight (saga, then bare), and the history gaps of the one-at-a-time sagas. On a loaded box wall-clock figures
 * swing with the neighbours; the CPU each saga costs does not (much): the worker process's CPU (main thread,
 * workflow thread, Temporal core threads: `process.cpuUsage`) and the dev server's (`/proc/<pid>/stat`) per saga
 * one at a time are printed beside them.
 *
 *   npx tsx bench/lib/saga-tuning.ts                 # every variant
 *   npx tsx bench/lib/saga-tuning.ts baseline eager  # the named ones
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../src/dev/temporal-server';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { createLogger } from '../../src/logger';
import { startSagaWorker } from '../../src/runtime/saga-worker';
import { SAGA_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import {
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineWorkflowId,
} from '../../src/workflows/research/pipeline-contract';
import { createFastPipelineActivities } from './fast-pipeline-activities';
import { historyGaps } from './history-timing';
import { cpuMeter, devServerCpuClock } from './process-cpu';
import { summarize } from './stats';

interface Variant {
  /** Dynamic config on top of (or, with `replaceFlags`, instead of) the shipped dev-server flags. */
  flags?: string[];
  replaceFlags?: boolean;
  eagerStart?: boolean;
  workerOptions?: Partial<WorkerOptions>;
  /** Fast agents without the plan-cache local activity (every reasoning step is a regular activity). */
  noPlanCache?: boolean;
  /** Fast agents that do not offer local steps (codegen and the compensations stay activities). */
  noLocalSteps?: boolean;
}

const VARIANTS: Record<string, Variant> = {
  baseline: { noPlanCache: true, noLocalSteps: true },
  'plan-cache': { noLocalSteps: true },
  eager: { eagerStart: true, noPlanCache: true, noLocalSteps: true },
  'eager+plan-cache': { eagerStart: true, noLocalSteps: true },
  'eager+plan-cache+local-steps': { eagerStart: true },
  'eager+plan-cache+local-steps+wft-slots100': {
    eagerStart: true,
    workerOptions: { maxConcurrentWorkflowTaskExecutions: 100 },
  },
  'eager+plan-cache+partitions1': {
    eagerStart: true,
    flags: ['matching.numTaskqueueReadPartitions=1', 'matching.numTaskqueueWritePartitions=1'],
  },
  'eager+plan-cache+polls10': { eagerStart: true, workerOptions: { maxConcurrentWorkflowTaskPolls: 10 } },
  'eager+plan-cache+no-reuse-v8': { eagerStart: true, workerOptions: { reuseV8Context: false } },
  'eager+plan-cache+threads2': { eagerStart: true, workerOptions: { workflowThreadPoolSize: 2 } },
};

const C50_WINDOW_MS = Number(process.env.TUNING_C50_MS ?? 5000);

async function run(label: string, v: Variant): Promise<void> {
  const flags = [...(v.replaceFlags ? [] : DEV_SERVER_DYNAMIC_CONFIG), ...(v.flags ?? [])];
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: await ensureTemporalCli({}),
      ip: '127.0.0.1',
      searchAttributes: SAGA_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
      extraArgs: flags.flatMap((f) => ['--dynamic-config-value', f]),
    },
  });
  const native = await NativeConnection.connect({ address: env.address });
  const taskQueue = `tune-${randomUUID().slice(0, 6)}`;
  const { activities } = createFastPipelineActivities();
  if (v.noPlanCache) delete (activities as { cachedPlan?: unknown }).cachedPlan;
  if (v.noLocalSteps) delete (activities as { localSteps?: unknown }).localSteps;
  const sagaWorker = await startSagaWorker({
    config: loadConfig({}),
    connection: native,
    taskQueue,
    activities,
    logger: createLogger('error'),
    workerOptions: v.workerOptions,
  });
  const bareQueue = `${taskQueue}-bare`;
  const bare = await Worker.create({
    connection: native,
    taskQueue: bareQueue,
    workflowsPath: require.resolve('./bare-workflow'),
    activities,
  });
  const bareRunning = bare.run();
  // Eager start needs the worker's NativeConnection; the bare peer always starts through a separate connection (the
  // fixed reference of every variant), as do the sagas of variants without eager start.
  const plain = await Connection.connect({ address: env.address });
  const bareClient = new Client({ connection: plain });
  const client = v.eagerStart ? new Client({ connection: native }) : bareClient;
  let eagerlyStarted = 0;
  const saga = async () => {
    const h = await client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
      taskQueue,
      workflowId: pipelineWorkflowId('TUNE', randomUUID()),
      args: [{ idea: 'tuning saga', symbol: 'TUNE' }],
      requestEagerStart: v.eagerStart,
    });
    if (h.eagerlyStarted) eagerlyStarted++;
    await h.result();
    return h.workflowId;
  };
  const bareOne = async () => {
    const id = `bare-${randomUUID()}`;
    await bareClient.workflow.execute('bareFourActivities', {
      taskQueue: bareQueue,
      workflowId: id,
      args: [{ sagaId: id, symbol: 'TUNE' }],
    });
  };
  const serverCpuMs = devServerCpuClock(env.address);
  const oneAtATime = async (fn: () => Promise<unknown>) => {
    const lat: number[] = [];
    let meter = cpuMeter(serverCpuMs);
    for (let i = 0; i < 35; i++) {
      if (i === 5) meter = cpuMeter(serverCpuMs); // the first 5 are warm-up
      const t0 = performance.now();
      await fn();
      if (i >= 5) lat.push(performance.now() - t0);
    }
    const cpu = meter.stop(30);
    return { ...summarize(lat), workerCpuMs: cpu.processMs, serverCpuMs: cpu.serverMs };
  };
  // Sagas/s at 50 in flight, and the CPU each one cost (worker+client process and dev server): on a CPU-bound box
  // the rate swings with the neighbours, the CPU per saga much less.
  const closed50 = async (fn: () => Promise<unknown>) => {
    let done = 0;
    const end = performance.now() + C50_WINDOW_MS;
    const meter = cpuMeter(serverCpuMs);
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (performance.now() < end) {
          await fn();
          done++;
        }
      }),
    );
    const cpu = meter.stop(done);
    return { rate: done / (C50_WINDOW_MS / 1000), workerCpuMs: cpu.processMs, serverCpuMs: cpu.serverMs };
  };
  const bare1 = await oneAtATime(bareOne);
  const ids: string[] = [];
  const saga1 = await oneAtATime(async () => ids.push(await saga()));
  const eagerOfC1 = eagerlyStarted;
  const bare50 = await closed50(bareOne);
  const saga50 = await closed50(saga);
  const gaps = await historyGaps(client, ids.slice(-10));
  const ms = (n: number) => n.toFixed(1);
  console.log(
    `${label}: saga p50 ${ms(saga1.p50)} p95 ${ms(saga1.p95)} | bare p50 ${ms(bare1.p50)} | ratio ${(saga1.p50 / bare1.p50).toFixed(2)}` +
      ` | c50 saga ${saga50.rate.toFixed(1)}/s bare ${bare50.rate.toFixed(1)}/s ratio ${(saga50.rate / bare50.rate).toFixed(2)}` +
      ` | eager ${eagerOfC1}/35 | load ${(await import('node:os')).loadavg()[0]!.toFixed(2)}`,
  );
  console.log(
    `    CPU ms per saga, one at a time: saga worker+client ${ms(saga1.workerCpuMs)} server ${ms(saga1.serverCpuMs)}` +
      ` | bare worker+client ${ms(bare1.workerCpuMs)} server ${ms(bare1.serverCpuMs)}`,
  );
  console.log(
    `    CPU ms per saga, 50 in flight: saga worker+client ${ms(saga50.workerCpuMs)} server ${ms(saga50.serverCpuMs)}` +
      ` | bare worker+client ${ms(bare50.workerCpuMs)} server ${ms(bare50.serverCpuMs)}`,
  );
  for (const g of gaps.slice(0, 6))
    console.log(
      `    ${g.gap.padEnd(56)} ${ms(g.msPerSaga).padStart(6)} ms  ×${g.occurrencesPerSaga.toFixed(1)}`,
    );
  await sagaWorker.stop();
  bare.shutdown();
  await bareRunning;
  await native.close();
  await plain.close();
  await env.teardown();
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const names = process.argv.slice(2);
  for (const name of names.length ? names : Object.keys(VARIANTS)) {
    const v = VARIANTS[name];
    if (!v) throw new Error(`unknown variant ${name}; known: ${Object.keys(VARIANTS).join(', ')}`);
    await run(name, v);
  }
  process.exit(0);
}
void main();

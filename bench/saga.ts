/**
 * `npm run bench:saga`: the 4-step research pipeline saga with near-instant activities on a local in-memory Temporal
 * dev server (started here): latency at concurrency 1, throughput at 10/50/100 sagas in flight, and rollback
 * latency (backtest failure → state `rolled_back`). Its peer in the same run: a bare Temporal workflow calling the
 * same four activities (bench/lib/bare-workflow.ts) on a second worker, at concurrency 1 and 50. Writes
 * bench/results/saga-<time>.json and the `saga` section of docs/BENCHMARKS.md.
 *
 * The sagalane subjects start their sagas eagerly (a client on the saga worker's NativeConnection, as the MCP endpoint
 * in `sagalane dev` does); the bare peer starts through a separate connection (and once more eagerly, for the
 * fairness of that comparison). Last, the real agents: the `npm start` stack in a child process, driven through the
 * embedding client (bench/lib/saga-stack-subject.ts).
 *
 * Options: `--scale <f>` multiplies every duration; `--quick` = `--scale 0.3` and 10 rollbacks (a smoke run, not for
 * the record); `--no-stack` skips the real-agents stack; `--tracing [discard|otlp]` measures OpenTelemetry tracing off
 * and on instead (bench/saga-tracing.ts).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import Redis from 'ioredis';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type InjectedSinks } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { startTemporalDevServer } from '../src/dev/temporal-server';
import { createLogger } from '../src/logger';
import { startSagaWorker } from '../src/runtime/saga-worker';
import { RESEARCH_PIPELINE_WORKFLOW, pipelineWorkflowId } from '../src/workflows/research/pipeline-contract';
import { stateQuery } from '../src/workflows/saga-contract';
import { SAGA_METRICS_SINK, type SagaSinks } from '../src/workflows/saga-sinks';
import { createFastPipelineActivities, ROLLBACK_SYMBOL_PREFIX } from './lib/fast-pipeline-activities';
import { historyGaps, type GapStat } from './lib/history-timing';
import { closedLoop, type LoadResult } from './lib/load';
import { describeMachine } from './lib/machine';
import { cpuMeter, devServerCpuClock, type CpuPerItem } from './lib/process-cpu';
import { Progress, status } from './lib/progress';
import { redisUrlFromEnv } from './lib/redis-keys';
import { commandLine, writeReport } from './lib/results';
import { fmtMs, fmtRate, summarize, type LatencySummary } from './lib/stats';
import { consoleTable, markdownTable, type Row } from './lib/table';
import { scaleArg } from './lib/args';
import { benchPrefix, deleteMatching } from './lib/redis-keys';
import { startLaneDispatchSubject, type LaneSubject } from './lib/saga-lane-subject';
import { startStackSubject } from './lib/saga-stack-subject';
import { tracingArg } from './express-tracing';
import { runSagaTracingBench } from './saga-tracing';

const THROUGHPUT_CONCURRENCIES = [10, 50, 100];
/** What the real-agents sagas ask for: a shipped sample data set, one idea (so reasoning is a plan-cache hit). */
const STACK_PIPELINE = { idea: 'trend following with moving averages', symbol: 'DEMO' };

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const scale = quick ? 0.3 : scaleArg();
  const tracing = tracingArg();
  if (tracing) return runSagaTracingBench(tracing, scale);
  const ROLLBACKS = quick ? 10 : 30;
  const withStack = !process.argv.includes('--no-stack');
  const startedAt = new Date();
  const admin = new Redis(redisUrlFromEnv());
  const machine = await describeMachine(admin);
  admin.disconnect();
  Runtime.install({ logger: new DefaultLogger('ERROR') });

  status(`starting an in-memory Temporal dev server (load ${machine.loadAtStart.join(' ')})`);
  const server = await startTemporalDevServer({ logLevel: 'error' });
  const taskQueue = `bench-saga-${randomUUID().slice(0, 8)}`;
  const { activities, failedAt } = createFastPipelineActivities();
  const rolledBackAt = new Map<string, number>();
  const sinks: InjectedSinks<SagaSinks> = {
    [SAGA_METRICS_SINK]: {
      sagaStarted: { fn: () => undefined, callDuringReplay: false },
      stateTransition: {
        fn: (info, event) => {
          if (event.to === 'rolled_back') rolledBackAt.set(info.workflowId, performance.now());
        },
        callDuringReplay: false,
      },
      stepFinished: { fn: () => undefined, callDuringReplay: false },
      compensationFinished: { fn: () => undefined, callDuringReplay: false },
      sagaEnded: { fn: () => undefined, callDuringReplay: false },
    },
  };
  const nativeConnection = await NativeConnection.connect({ address: server.address });
  status('bundling src/workflows and starting the saga worker');
  const worker = await startSagaWorker({
    config: loadConfig({ SAGALANE_LOG_LEVEL: 'error' }),
    connection: nativeConnection,
    taskQueue,
    activities,
    sinks,
    logger: createLogger('error'),
  });
  const bareQueue = `${taskQueue}-bare`;
  status('bundling the bare peer workflow and starting its worker');
  const bareWorker = await Worker.create({
    connection: nativeConnection,
    taskQueue: bareQueue,
    workflowsPath: require.resolve('./lib/bare-workflow'),
    activities,
  });
  const bareRunning = bareWorker.run();
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  // Eager workflow start needs the worker's own connection (docs/SAGAS.md "Speed").
  const eagerClient = new Client({ connection: nativeConnection });
  let eagerStarts = 0;
  // The lane-dispatched subject: same server, same fast agents, steps on the express lane (bench/lib/saga-lane-subject).
  // As shipped: every step a dispatched lane activity (async completion). A second lane subject measures the opt-in
  // awaited steps (SAGALANE_AWAITED_STEPS=all: codegen and the compensations as local activities run on the lane).
  const lane: LaneSubject = await startLaneDispatchSubject({
    nativeConnection,
    client,
    redisUrl: redisUrlFromEnv(),
    agents: activities,
    sinks,
    awaitedSteps: 'none',
  });
  const laneAwaited: LaneSubject = await startLaneDispatchSubject({
    nativeConnection,
    client,
    redisUrl: redisUrlFromEnv(),
    agents: activities,
    sinks,
    awaitedSteps: 'all',
  });
  const runBare = async (eager = false) => {
    const workflowId = `bare-${randomUUID()}`;
    await (eager ? eagerClient : client).workflow.execute('bareFourActivities', {
      taskQueue: bareQueue,
      workflowId,
      args: [{ sagaId: workflowId, symbol: 'BENCH' }],
      requestEagerStart: eager,
    });
  };
  const peers: { label: string; concurrency: number; result: LoadResult }[] = [];

  const finishedIds: string[] = [];
  const runSaga = async (symbol: string, queue = taskQueue) => {
    const handle = await eagerClient.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
      taskQueue: queue,
      workflowId: pipelineWorkflowId(symbol, randomUUID()),
      args: [{ idea: 'benchmark saga', symbol }],
      requestEagerStart: true,
    });
    if (handle.eagerlyStarted) eagerStarts++;
    return handle;
  };

  const results: { label: string; concurrency: number; result: LoadResult }[] = [];
  const serverCpuMs = devServerCpuClock(server.address);
  const cpuAt50: { sagalane?: CpuPerItem; bare?: CpuPerItem } = {};
  let gaps: GapStat[];
  let eagerOfC1: string;
  let rollback: {
    fromFailure: LatencySummary;
    clientObserved: LatencySummary;
    states: string[];
    /** Rollback sagas that did not go as planned (not measured): what happened to each. */
    errors: string[];
  };
  try {
    // Warm-up, not counted: a few sagas of every subject first (JIT, the workflow thread's V8 context, connection
    // pools, the dev server's caches), so the subject measured first does not pay for everyone.
    status('warm-up: 5 sagas of each subject');
    for (let i = 0; i < 5; i++) {
      await (await runSaga('BENCH')).result();
      await (await runSaga('BENCH', lane.taskQueue)).result();
      await (await runSaga('BENCH', laneAwaited.taskQueue)).result();
      await runBare();
      await runBare(true);
    }
    eagerStarts = 0;
    results.push({
      label: 'latency, one saga at a time',
      concurrency: 1,
      result: await closedLoop(
        { label: 'saga closed loop c=1', concurrency: 1, durationMs: 10_000 * scale, warmupMs: 2000 },
        async () => {
          const handle = await runSaga('BENCH');
          await handle.result();
          finishedIds.push(handle.workflowId);
        },
      ),
    });
    eagerOfC1 = `${eagerStarts} of ${finishedIds.length}`;
    results.push({
      label: 'lane-dispatched: latency, one saga at a time',
      concurrency: 1,
      result: await closedLoop(
        { label: 'lane saga closed loop c=1', concurrency: 1, durationMs: 10_000 * scale, warmupMs: 2000 },
        async () => void (await (await runSaga('BENCH', lane.taskQueue)).result()),
      ),
    });
    results.push({
      label: 'lane-dispatched, awaited steps (opt-in): latency, one saga at a time',
      concurrency: 1,
      result: await closedLoop(
        {
          label: 'awaited lane saga closed loop c=1',
          concurrency: 1,
          durationMs: 10_000 * scale,
          warmupMs: 2000,
        },
        async () => void (await (await runSaga('BENCH', laneAwaited.taskQueue)).result()),
      ),
    });
    results.push({
      label: 'lane-dispatched: throughput, 50 in flight',
      concurrency: 50,
      result: await closedLoop(
        { label: 'lane saga closed loop c=50', concurrency: 50, durationMs: 8_000 * scale, warmupMs: 2000 },
        async () => void (await (await runSaga('BENCH', lane.taskQueue)).result()),
      ),
    });
    gaps = await historyGaps(client, finishedIds.slice(-10));
    peers.push({
      label: 'peer: bare workflow, 4 activities, one at a time',
      concurrency: 1,
      result: await closedLoop(
        { label: 'bare closed loop c=1', concurrency: 1, durationMs: 10_000 * scale, warmupMs: 2000 },
        () => runBare(),
      ),
    });
    peers.push({
      label: 'peer: bare workflow, eager start, one at a time',
      concurrency: 1,
      result: await closedLoop(
        { label: 'bare eager closed loop c=1', concurrency: 1, durationMs: 10_000 * scale, warmupMs: 2000 },
        () => runBare(true),
      ),
    });
    for (const c of THROUGHPUT_CONCURRENCIES) {
      // At 50 in flight, also the CPU each saga costs (over the whole loop, warm-up included): it bounds sagas/s.
      let sagasDone = 0;
      const sagaMeter = cpuMeter(serverCpuMs);
      results.push({
        label: `throughput, ${c} in flight`,
        concurrency: c,
        result: await closedLoop(
          { label: `saga closed loop c=${c}`, concurrency: c, durationMs: 8_000 * scale, warmupMs: 2000 },
          async () => {
            await (await runSaga('BENCH')).result();
            sagasDone++;
          },
        ),
      });
      if (c === 50) {
        cpuAt50.sagalane = sagaMeter.stop(sagasDone);
        let bareDone = 0;
        const bareMeter = cpuMeter(serverCpuMs);
        peers.push({
          label: 'peer: bare workflow, 4 activities, 50 in flight',
          concurrency: 50,
          result: await closedLoop(
            { label: 'bare closed loop c=50', concurrency: 50, durationMs: 8_000 * scale, warmupMs: 2000 },
            async () => {
              await runBare();
              bareDone++;
            },
          ),
        });
        cpuAt50.bare = bareMeter.stop(bareDone);
      }
    }
    const progress = new Progress('saga rollbacks (one at a time)', ROLLBACKS);
    const fromFailure: number[] = [];
    const clientObserved: number[] = [];
    const states: string[] = [];
    const errors: string[] = [];
    for (let i = 0; i < ROLLBACKS; i++) {
      // A saga that does not roll back as planned is counted (and named) as an error, and not measured.
      try {
        const handle = await runSaga(`${ROLLBACK_SYMBOL_PREFIX}${i}`);
        const completed = await handle.result().then(
          () => true,
          () => false,
        );
        const observed = performance.now();
        if (completed) throw new Error(`rollback saga ${handle.workflowId} completed; it should have failed`);
        const failed = failedAt.get(handle.workflowId);
        const rolledBack = rolledBackAt.get(handle.workflowId);
        if (failed === undefined || rolledBack === undefined)
          throw new Error(`rollback saga ${handle.workflowId}: failure or rolled_back transition not seen`);
        const state = (await handle.query(stateQuery)).state;
        states.push(state);
        if (state !== 'rolled_back')
          throw new Error(`rollback saga ${handle.workflowId} ended in ${state}, expected rolled_back`);
        fromFailure.push(rolledBack - failed);
        clientObserved.push(observed - failed);
      } catch (err) {
        errors.push((err as Error).message);
      }
      progress.add();
    }
    progress.finish();
    rollback = {
      fromFailure: summarize(fromFailure),
      clientObserved: summarize(clientObserved),
      states,
      errors,
    };
  } finally {
    await lane.stop();
    await laneAwaited.stop();
    bareWorker.shutdown();
    await bareRunning;
    await worker.stop();
    await nativeConnection.close();
    await connection.close();
    await server.stop();
  }
  // The real agents on the shipped stack, after the in-memory server is gone (they would compete for the CPU).
  const stackRows: { label: string; concurrency: number; result: LoadResult }[] = [];
  if (withStack) {
    status('starting the `npm start` stack (sagalane dev) in a child process for the real agents');
    const keyPrefix = benchPrefix('saga-stack');
    const stack = await startStackSubject({ redisUrl: redisUrlFromEnv(), keyPrefix });
    const runReal = async () => {
      const { sagaId } = await stack.sagas.startPipeline(STACK_PIPELINE);
      await stack.sagas.result(sagaId);
    };
    try {
      stackRows.push({
        label: 'real agents, `npm start` stack, embedding client: one at a time',
        concurrency: 1,
        result: await closedLoop(
          { label: 'stack real agents c=1', concurrency: 1, durationMs: 10_000 * scale, warmupMs: 5000 },
          runReal,
        ),
      });
      stackRows.push({
        label: 'real agents, `npm start` stack, embedding client: 50 in flight',
        concurrency: 50,
        result: await closedLoop(
          { label: 'stack real agents c=50', concurrency: 50, durationMs: 15_000 * scale, warmupMs: 5000 },
          runReal,
        ),
      });
    } finally {
      await stack.stop();
      const admin2 = new Redis(redisUrlFromEnv());
      await deleteMatching(admin2, `${keyPrefix}*`);
      admin2.disconnect();
    }
  }
  if (rollback.errors.length > 0) {
    // Reported in the table's errors column; the run still fails, so its figures are not taken for a clean run's.
    status(
      `WARNING: ${rollback.errors.length} of ${ROLLBACKS} rollback sagas went wrong: ${rollback.errors.slice(0, 3).join('; ')}`,
    );
    process.exitCode = 1;
  }

  const rows: Row[] = [...results, ...peers, ...stackRows].map(({ label, concurrency, result }) => ({
    measurement: label,
    'sagas/s': fmtRate(result.tasksPerSecond),
    'p50 ms': fmtMs(result.latency!.p50),
    'p95 ms': fmtMs(result.latency!.p95),
    'p99 ms': fmtMs(result.latency!.p99),
    sagas: String(result.completed),
    errors: String(result.errors),
    concurrency: String(concurrency),
  }));
  rows.push(
    {
      measurement: 'rollback: backtest failure → `rolled_back` (3 compensations)',
      'sagas/s': '–',
      'p50 ms': fmtMs(rollback.fromFailure.p50),
      'p95 ms': fmtMs(rollback.fromFailure.p95),
      'p99 ms': fmtMs(rollback.fromFailure.p99),
      sagas: String(rollback.fromFailure.count),
      errors: String(rollback.errors.length),
      concurrency: '1',
    },
    {
      measurement: 'rollback: backtest failure → client sees the failure',
      'sagas/s': '–',
      'p50 ms': fmtMs(rollback.clientObserved.p50),
      'p95 ms': fmtMs(rollback.clientObserved.p95),
      'p99 ms': fmtMs(rollback.clientObserved.p99),
      sagas: String(rollback.clientObserved.count),
      errors: String(rollback.errors.length),
      concurrency: '1',
    },
  );
  const c1 = results[0]!.result.latency!;
  // The in-worker subject's row (the lane-dispatched one has concurrency 50 too).
  const c50 = results.find((r) => r.label === 'throughput, 50 in flight')!.result;
  const laneC1 = results.find((r) => r.label.startsWith('lane-dispatched: latency'))!.result.latency!;
  const awaitedC1 = results.find((r) => r.label.startsWith('lane-dispatched, awaited'))!.result.latency!;
  const overInWorker = (l: LatencySummary) =>
    `${l.p50 >= c1.p50 ? '+' : '−'}${fmtMs(Math.abs(l.p50 - c1.p50))} ms (${fmtMs(l.p50)} vs ${fmtMs(c1.p50)})`;
  const peer = (label: string) => peers.find((p) => p.label === label)!.result;
  const bare1 = peer('peer: bare workflow, 4 activities, one at a time').latency!;
  const bareEager1 = peer('peer: bare workflow, eager start, one at a time').latency!;
  const bare50 = peer('peer: bare workflow, 4 activities, 50 in flight');
  const check = (ok: boolean) => (ok ? 'met' : '**missed**');
  const cores = os.cpus().length;
  const cpuSum = (c: CpuPerItem) =>
    `${fmtMs(c.processMs)} + ${fmtMs(c.serverMs)} = ${fmtMs(c.processMs + c.serverMs)} ms`;
  const targets: Row[] = [
    { target: 'p50 ≤ 40 ms at concurrency 1', measured: `${fmtMs(c1.p50)} ms`, result: check(c1.p50 <= 40) },
    {
      target: '≥ 50 sagas/s at concurrency 50',
      measured: `${fmtRate(c50.tasksPerSecond)} sagas/s`,
      result: check(c50.tasksPerSecond >= 50),
    },
    {
      target: 'lane dispatch adds ≤ 10 ms p50 per saga over in-worker activities (as shipped)',
      measured: overInWorker(laneC1),
      result: check(laneC1.p50 - c1.p50 <= 10),
    },
    {
      target: 'the same with awaited steps (opt-in, SAGALANE_AWAITED_STEPS=all)',
      measured: overInWorker(awaitedC1),
      result: check(awaitedC1.p50 - c1.p50 <= 10),
    },
    {
      target: 'lane-dispatched p50 ≤ 50 ms at concurrency 1 (as shipped / awaited)',
      measured: `${fmtMs(laneC1.p50)} / ${fmtMs(awaitedC1.p50)} ms`,
      result: `${check(laneC1.p50 <= 50)} / ${check(awaitedC1.p50 <= 50)}`,
    },
    ...(stackRows.length
      ? [
          {
            target: 'real agents (npm start stack, embedding client): p50 ≤ 100 ms at concurrency 1',
            measured: `${fmtMs(stackRows[0]!.result.latency!.p50)} ms`,
            result: check(stackRows[0]!.result.latency!.p50 <= 100),
          },
          {
            target: 'real agents (npm start stack, embedding client): ≥ 25 sagas/s at concurrency 50',
            measured: `${fmtRate(stackRows[1]!.result.tasksPerSecond)} sagas/s`,
            result: check(stackRows[1]!.result.tasksPerSecond >= 25),
          },
        ]
      : []),
    {
      target: 'saga vs bare peer, p50 at concurrency 1 (same run)',
      measured: `${fmtMs(c1.p50)} / ${fmtMs(bare1.p50)} ms = ${(c1.p50 / bare1.p50).toFixed(2)}×`,
      result: '–',
    },
    {
      target: 'saga vs bare peer, sagas/s at concurrency 50 (same run)',
      measured: `${fmtRate(c50.tasksPerSecond)} / ${fmtRate(bare50.tasksPerSecond)} = ${(c50.tasksPerSecond / bare50.tasksPerSecond).toFixed(2)}×`,
      result: '–',
    },
    {
      target: 'saga vs bare peer started eagerly too, p50 at concurrency 1 (same run)',
      measured: `${fmtMs(c1.p50)} / ${fmtMs(bareEager1.p50)} ms = ${(c1.p50 / bareEager1.p50).toFixed(2)}×`,
      result: '–',
    },
    { target: 'sagas started eagerly (in-worker, one at a time)', measured: eagerOfC1, result: '–' },
    {
      // The ceiling the CPU puts on throughput, whatever the concurrency: cores × 1000 ms / CPU ms per saga.
      target: `CPU per saga at 50 in flight, this process (client, workers) + dev server; ≥ 50 sagas/s on ${cores} cores needs ≤ ${fmtMs((cores * 1000) / 50)} ms`,
      measured: `sagalane ${cpuSum(cpuAt50.sagalane!)} · bare peer ${cpuSum(cpuAt50.bare!)}`,
      result: '–',
    },
  ];
  const gapRows: Row[] = gaps.slice(0, 8).map((g) => ({
    'between these history events': g.gap,
    'ms per saga': fmtMs(g.msPerSaga),
    'times per saga': g.occurrencesPerSaga.toFixed(1),
    share: `${(100 * g.share).toFixed(0)}%`,
  }));
  const columns = ['measurement', 'concurrency', 'sagas/s', 'p50 ms', 'p95 ms', 'p99 ms', 'sagas', 'errors'];
  process.stdout.write(
    `\n${consoleTable(rows, columns)}\n\n${consoleTable(targets)}\n\n${consoleTable(gapRows)}\n`,
  );
  const file = writeReport({
    name: 'saga',
    command: commandLine('bench:saga'),
    machine,
    startedAt,
    markdown: [
      'Saga latency is client start → workflow result; throughput counts sagas finished per second of the window. ' +
        'Latency n/a: no saga both started and finished inside the window (latency above its length).',
      '',
      markdownTable(rows, columns),
      '',
      '#### Targets',
      '',
      markdownTable(targets),
      '',
      '#### Where the time of one saga goes (concurrency 1, last 10 sagas, from their Temporal histories)',
      '',
      markdownTable(gapRows),
    ].join('\n'),
    data: { scale, quick, results, peers, stack: stackRows, rollback, gaps, eagerOfC1, cpuAt50 },
  });
  status(`wrote ${file} and docs/BENCHMARKS.md (saga section)`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:saga failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

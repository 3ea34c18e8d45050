/**
 * The experiment behind the "Where a saga's time goes" table in docs/BENCHMARKS.md: the same saga benchmark (20
 * sagas one at a time after 5 of warm-up, then 6 s at 50 in flight) on dev servers started with different
 * `--dynamic-config-value` flags, one after the other on the same box.
 *
 *   npx tsx bench/lib/saga-server-flags.ts
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { ensureTemporalCli } from '../../src/dev/temporal-cli';
import { createLogger } from '../../src/logger';
import { startSagaWorker } from '../../src/runtime/saga-worker';
import { SAGA_SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes';
import {
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineWorkflowId,
} from '../../src/workflows/research/pipeline-contract';
import { createFastPipelineActivities } from './fast-pipeline-activities';
import { summarize } from './stats';

async function run(label: string, flags: string[]): Promise<void> {
  const extraArgs = flags.flatMap((f) => ['--dynamic-config-value', f]);
  const executable = await ensureTemporalCli({});
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable,
      ip: '127.0.0.1',
      searchAttributes: SAGA_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
      extraArgs,
    },
  });
  const native = await NativeConnection.connect({ address: env.address });
  const taskQueue = `exp-${randomUUID().slice(0, 6)}`;
  const w = await startSagaWorker({
    config: loadConfig({}),
    connection: native,
    taskQueue,
    activities: createFastPipelineActivities().activities,
    logger: createLogger('error'),
  });
  const conn = await Connection.connect({ address: env.address });
  const client = new Client({ connection: conn });
  const one = async () => {
    const h = await client.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
      taskQueue,
      workflowId: pipelineWorkflowId('EXP', randomUUID()),
      args: [{ idea: 'exp saga', symbol: 'EXP' }],
    });
    await h.result();
  };
  const lat: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    await one();
    if (i >= 5) lat.push(performance.now() - t0);
  }
  const s = summarize(lat);
  let done = 0;
  const end = performance.now() + 6000;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (performance.now() < end) {
        await one();
        done++;
      }
    }),
  );
  console.log(label, 'p50', s.p50.toFixed(0), 'p95', s.p95.toFixed(0), 'c50 sagas/s', (done / 6).toFixed(1));
  await w.stop();
  await native.close();
  await conn.close();
  await env.teardown();
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const rps = [
    'history.transferProcessorMaxPollRPS=10000',
    'history.timerProcessorMaxPollRPS=10000',
    'history.visibilityProcessorMaxPollRPS=10000',
  ];
  await run('maxPollRPS 10000', rps);
  await run('maxPollRPS + eager activities', [...rps, 'system.enableActivityEagerExecution=true']);
  await run('default', []);
  process.exit(0);
}
void main();

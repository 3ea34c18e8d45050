/**
 * End to end: a real saga worker (Temporal dev server) and a real express worker (Redis) report into one registry,
 * and /metrics shows exactly what ran: 3 express tasks, 2 sagas of which one rolled back. The saga worker's Temporal
 * SDK metrics come from Core's own Prometheus exporter on a second port.
 */
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Connection, Client, WorkflowFailedError } from '@temporalio/client';
import Redis from 'ioredis';
import { createTestPipelineActivities, type PipelineScenario } from '../fixtures/test-activities';
import { deleteKeys, redisUrl, uniquePrefix } from '../helpers/redis';
import { temporalAddress, uniqueTaskQueue, workflowBundlePath } from '../helpers/temporal';
import { FAST_TUNING, startPipeline } from '../sagas/saga-test-kit';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { ExpressClient, ExpressWorker, builtinTaskTypes } from '../../src/lane';
import { startSagaWorker, type SagaWorkerHandle } from '../../src/runtime/saga-worker';
import {
  pipelineWorkflowId,
  RESEARCH_PIPELINE_WORKFLOW,
} from '../../src/workflows/research/pipeline-contract';
import {
  createMetrics,
  createSagaMetricsSinks,
  installTemporalRuntimeMetrics,
  instrumentExpressClient,
  instrumentExpressWorker,
  redisCheck,
  startObservabilityServer,
  temporalCheck,
  type ObservabilityServer,
} from '../../src/observability';
import { freePort } from '../helpers/ports';

/** `name{labels} value` lines of a text exposition, keyed by `name{labels}` exactly as printed. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    samples.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return samples;
}

/** Value of the one sample whose name matches and which carries every given label. */
function sample(
  samples: Map<string, number>,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const hits = [...samples].filter(
    ([key]) => (key === name || key.startsWith(`${name}{`)) && wanted.every((w) => key.includes(w)),
  );
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${hits.length} series`);
  return hits[0]?.[1];
}

const silent = createLogger('silent');
const quietRuntimeLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (m: string) => console.error(m),
};

describe('metrics end to end: sagas and express tasks counted exactly', () => {
  const keyPrefix = uniquePrefix('obs-e2e');
  const taskQueue = uniqueTaskQueue('obs-e2e');
  const metrics = createMetrics();
  const scenarios = new Map<string, PipelineScenario>();
  let temporalMetricsUrl: string;
  let redis: Redis;
  let connection: Connection;
  let client: Client;
  let sagaWorker: SagaWorkerHandle;
  let expressWorker: ExpressWorker;
  let expressClient: ExpressClient;
  let server: ObservabilityServer;
  let exposition: string;
  let samples: Map<string, number>;
  let echoLane: string;

  beforeAll(async () => {
    // Before any NativeConnection: the Temporal Runtime is a per-process singleton.
    temporalMetricsUrl = installTemporalRuntimeMetrics({
      port: await freePort(),
      logger: quietRuntimeLogger as never,
    });
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
    connection = await Connection.connect({ address: temporalAddress() });
    client = new Client({ connection });
    const config = loadConfig({ TEMPORAL_ADDRESS: temporalAddress(), REDIS_URL: redisUrl() });
    const agents = createTestPipelineActivities({
      redis,
      keyPrefix,
      scenarioFor: (sagaId) => scenarios.get(sagaId) ?? {},
    });
    sagaWorker = await startSagaWorker({
      config,
      taskQueue,
      activities: agents.activities,
      sinks: createSagaMetricsSinks(metrics, { logger: silent }),
      workflowBundlePath: workflowBundlePath(),
      logger: silent,
    });
    expressWorker = new ExpressWorker({
      types: builtinTaskTypes,
      redisUrl: redisUrl(),
      keyPrefix,
      logger: silent,
      concurrency: { min: 2, max: 4 },
    });
    expressClient = new ExpressClient({ types: builtinTaskTypes, redisUrl: redisUrl(), keyPrefix });
    instrumentExpressWorker(expressWorker, metrics);
    instrumentExpressClient(expressClient, metrics);
    await expressWorker.start();
    server = await startObservabilityServer({
      port: 0,
      registry: metrics.registry,
      dependencyUp: metrics.dependencyUp,
      readiness: [redisCheck(redis), temporalCheck(connection)],
    });

    // The work: 3 express tasks, one saga that completes and one that rolls back at its last step.
    for (let i = 0; i < 3; i++) {
      const { taskId } = await expressClient.submit({ type: 'echo', payload: { message: `hello ${i}` } });
      const info = await expressClient.result(taskId, { waitMs: 20_000 });
      expect(info.status).toBe('succeeded');
      echoLane = info.lane;
    }
    const okId = pipelineWorkflowId('OBSOK', randomUUID());
    const rollbackId = pipelineWorkflowId('OBSRB', randomUUID());
    scenarios.set(rollbackId, { failAt: 'backtest' });
    const ok = await startPipeline(
      client,
      taskQueue,
      { idea: 'observe a saga', symbol: 'OBSOK' },
      {
        workflowId: okId,
        tuning: FAST_TUNING,
      },
    );
    const rolledBack = await startPipeline(
      client,
      taskQueue,
      { idea: 'observe a rollback', symbol: 'OBSRB' },
      {
        workflowId: rollbackId,
        tuning: FAST_TUNING,
      },
    );
    await ok.result();
    await expect(rolledBack.result()).rejects.toBeInstanceOf(WorkflowFailedError);

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    exposition = await res.text();
    samples = parseExposition(exposition);
  });

  afterAll(async () => {
    await server?.close();
    await expressWorker?.stop();
    await expressClient?.close();
    await sagaWorker?.stop();
    await connection?.close();
    if (redis) {
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
    }
  });

  it('counts the 3 express tasks: submitted, started, succeeded, none retried or dead', () => {
    const labels = { type: 'echo', lane: echoLane };
    expect(echoLane).toBe('express');
    expect(sample(samples, 'sagalane_express_tasks_submitted_total', labels)).toBe(3);
    expect(sample(samples, 'sagalane_express_tasks_started_total', labels)).toBe(3);
    expect(sample(samples, 'sagalane_express_tasks_succeeded_total', labels)).toBe(3);
    expect(sample(samples, 'sagalane_express_tasks_retried_total', labels)).toBe(0);
    expect(sample(samples, 'sagalane_express_tasks_dead_total', labels)).toBe(0);
    expect(sample(samples, 'sagalane_express_ack_failures_total', labels)).toBe(0);
  });

  it('observed the 3 express tasks in the wait and run latency histograms', () => {
    const labels = { type: 'echo', lane: 'express' };
    for (const h of ['sagalane_express_task_wait_seconds', 'sagalane_express_task_run_seconds']) {
      expect(sample(samples, `${h}_count`, labels)).toBe(3);
      expect(sample(samples, `${h}_bucket`, { ...labels, le: '+Inf' })).toBe(3);
      const sum = sample(samples, `${h}_sum`, labels)!;
      // Seconds, not milliseconds: three echo tasks on a local Redis take well under 30 s in total.
      expect(sum).toBeGreaterThanOrEqual(0);
      expect(sum).toBeLessThan(30);
    }
  });

  it('counts the 2 sagas: started, one completed, one rolled back, none failed', () => {
    const wt = { workflow_type: RESEARCH_PIPELINE_WORKFLOW };
    expect(sample(samples, 'sagalane_sagas_started_total', wt)).toBe(2);
    expect(sample(samples, 'sagalane_sagas_ended_total', { ...wt, outcome: 'completed' })).toBe(1);
    expect(sample(samples, 'sagalane_sagas_ended_total', { ...wt, outcome: 'rolled_back' })).toBe(1);
    expect(sample(samples, 'sagalane_sagas_ended_total', { ...wt, outcome: 'failed' })).toBe(0);
    expect(sample(samples, 'sagalane_saga_duration_seconds_count', { ...wt, outcome: 'completed' })).toBe(1);
    expect(sample(samples, 'sagalane_saga_duration_seconds_count', { ...wt, outcome: 'rolled_back' })).toBe(
      1,
    );
  });

  it('observed every saga step and compensation', () => {
    const wt = { workflow_type: RESEARCH_PIPELINE_WORKFLOW };
    const stepCount = (step: string, outcome: string) =>
      sample(samples, 'sagalane_saga_step_duration_seconds_count', { ...wt, step, outcome });
    for (const step of ['reasoning', 'codegen', 'ml']) expect(stepCount(step, 'completed')).toBe(2);
    expect(stepCount('backtest', 'completed')).toBe(1);
    expect(stepCount('backtest', 'failed')).toBe(1);
    // The rolled-back saga undid the three steps that had finished; the failed step had nothing to undo.
    for (const step of ['reasoning', 'codegen', 'ml']) {
      expect(
        sample(samples, 'sagalane_saga_compensations_total', { ...wt, step, outcome: 'completed' }),
      ).toBe(1);
      expect(sample(samples, 'sagalane_saga_compensations_total', { ...wt, step, outcome: 'failed' })).toBe(
        0,
      );
    }
    for (const outcome of ['completed', 'failed']) {
      expect(sample(samples, 'sagalane_saga_compensations_total', { ...wt, step: 'backtest', outcome })).toBe(
        0,
      );
    }
  });

  it('reads the stream gauges from Redis at scrape time, and the worker gauges from the worker', () => {
    const labels = { type: 'echo', lane: 'express' };
    expect(sample(samples, 'sagalane_express_backlog_tasks', labels)).toBe(0);
    expect(sample(samples, 'sagalane_express_pending_tasks', labels)).toBe(0);
    expect(sample(samples, 'sagalane_express_consumers', labels)).toBeGreaterThanOrEqual(1);
    expect(sample(samples, 'sagalane_express_dead_letter_tasks', labels)).toBe(0);
    expect(sample(samples, 'sagalane_express_in_flight_tasks', {})).toBe(0);
    const concurrency = sample(samples, 'sagalane_express_concurrency', {})!;
    expect(concurrency).toBeGreaterThanOrEqual(2);
    expect(concurrency).toBeLessThanOrEqual(4);
    expect(sample(samples, 'sagalane_dependency_up', { dependency: 'redis' })).toBe(1);
    expect(sample(samples, 'sagalane_dependency_up', { dependency: 'temporal' })).toBe(1);
  });

  it('puts no saga or task id into any label', () => {
    const ids = [...scenarios.keys()];
    for (const key of samples.keys()) {
      for (const id of ids) expect(key).not.toContain(id);
      expect(key).not.toMatch(/echo:[0-9a-f]{8}-/);
    }
    const lint = spawnSync('promtool', ['check', 'metrics'], {
      input:
        exposition
          .split('\n')
          .filter((l) => /^(# (HELP|TYPE) )?sagalane_/.test(l))
          .join('\n') + '\n',
      encoding: 'utf8',
    });
    expect(lint.error).toBeUndefined();
    expect(`${lint.stdout}${lint.stderr}`.trim()).toBe('');
  });

  it('exposes the Temporal SDK worker metrics on their own port, with the names the alerts use', async () => {
    const res = await fetch(temporalMetricsUrl);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^temporal_workflow_task_schedule_to_start_latency_seconds_bucket\{/m);
    expect(text).toMatch(/^temporal_worker_task_slots_available\{.*worker_type="ActivityWorker"/m);
    expect(text).toMatch(/^temporal_workflow_completed_total\{/m);
    expect(text).toContain(`task_queue="${taskQueue}"`);
  });
});

/**
 * Lane tracing (src/lane/lane-tracing.ts) on a real Redis, with the OpenTelemetry SDK's in-memory exporter: the
 * submitter's trace context in the stream entry, the worker's `lane.wait` / `lane.run` spans as children of the
 * submitting span, outcomes of retried and dead-lettered tasks, a redelivery after kill -9 in the same trace, a
 * malformed `traceparent` (a new root, the task still runs), pooled handlers, and tracing off (nothing written).
 *
 * Tracing is process-global: the "off" tests run first, before the "on" block's beforeAll starts it.
 */
import { randomUUID } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type Redis from 'ioredis';
import { z } from 'zod';
import {
  defineTaskType,
  ExpressClient,
  ExpressWorker,
  hashTaskType,
  UnrecoverableTaskError,
  type TaskType,
} from '../../src/lane';
import { LaneKeys } from '../../src/lane/keys';
import * as laneTracing from '../../src/lane/lane-tracing';
import { createLogger } from '../../src/logger';
import * as tracing from '../../src/observability/tracing';
import {
  inSpan,
  shutdownTracing,
  startTracing,
  tracer,
  tracingEnabled,
} from '../../src/observability/tracing';
import { createLaneTestTypes, laneTestTypeSchemas } from '../fixtures/lane-task-types';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import { waitFor } from '../helpers/wait';
import { runCounts, spawnWorker, stopWorker, type WorkerProcess } from './lane-helpers';

jest.setTimeout(60_000);

const log = createLogger('error');

/** Runs its payload's plan: fails `failTimes` attempts (or for good with `fatal`), makes a child span. */
const tracedType = defineTaskType({
  name: 'traced',
  schema: z.object({ failTimes: z.number().int().min(0).default(0), fatal: z.boolean().default(false) }),
  handler: async ({ failTimes, fatal }, ctx) => {
    // An agent's phase: a span of the handler's own, which must be a child of the run span.
    await inSpan('handler.phase', {}, async () => undefined);
    if (fatal) throw new UnrecoverableTaskError('cannot ever work');
    if (ctx.attempt <= failTimes) throw new Error(`planned failure ${ctx.attempt}/${failTimes}`);
    return { attempt: ctx.attempt };
  },
  defaults: { lane: 'express', maxAttempts: 3, timeoutMs: 10_000 },
});

/** Submitted to but never served: its entries stay in the stream for XRANGE. */
const unservedType = defineTaskType({
  name: 'unserved',
  schema: z.object({ n: z.number() }),
  handler: async () => null,
});

const schemas = [tracedType, unservedType, hashTaskType, ...laneTestTypeSchemas];

describe('lane tracing', () => {
  let redis: Redis;
  const prefix = uniquePrefix('lane-tracing');
  const keys = new LaneKeys(prefix);
  let client: ExpressClient;
  const workers: ExpressWorker[] = [];
  const procs: WorkerProcess[] = [];

  const startWorker = async (types: TaskType[], opts: Record<string, unknown> = {}) => {
    const w = new ExpressWorker({
      types,
      redisUrl: redisUrl(),
      keyPrefix: prefix,
      consumerName: `in-process-${randomUUID().slice(0, 6)}`,
      retryBaseDelayMs: 20,
      autoscaleIntervalMs: 0,
      concurrency: { min: 4, max: 4 },
      logger: log,
      ...opts,
    });
    await w.start();
    workers.push(w);
    return w;
  };

  const fieldsOf = async (type: string, lane: 'express' | 'standard') => {
    const rows = await redis.xrange(keys.stream(type, lane), '-', '+');
    return rows.map(([, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
      return f;
    });
  };

  beforeAll(() => {
    redis = redisClient();
    client = new ExpressClient({ types: schemas, redisUrl: redisUrl(), keyPrefix: prefix });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(procs.map((p) => stopWorker(p, 'SIGKILL')));
    await client.close();
    await shutdownTracing();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  describe('tracing off (the default)', () => {
    it('writes no trace context into the entry, even given a parent context', async () => {
      expect(tracingEnabled()).toBe(false);
      // A valid, sampled span context: with tracing off it must still not reach the entry.
      const parentContext = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: 1,
      });
      const { taskId } = await client.submit({ type: 'unserved', payload: { n: 1 }, parentContext });
      const entries = await fieldsOf('unserved', 'standard');
      const mine = entries.find((f) => f.id === taskId);
      expect(mine).toBeDefined();
      expect(Object.keys(mine!).sort()).toEqual(['id', 'm', 'payload']);
    });

    it('runs tasks without making a span or reading a trace context', async () => {
      // The hot path's guards: no carrier is built on submit, no span started per task.
      const carrier = jest.spyOn(tracing, 'traceCarrier');
      const spans = jest.spyOn(laneTracing, 'startTaskTrace');
      try {
        const w = await startWorker([tracedType]);
        const info = await client.submitAndWait({ type: 'traced', payload: {} }, { waitMs: 10_000 });
        expect(info.status).toBe('succeeded');
        await w.stop();
        expect(carrier).not.toHaveBeenCalled();
        expect(spans).not.toHaveBeenCalled();
      } finally {
        carrier.mockRestore();
        spans.mockRestore();
      }
    });
  });

  describe('tracing on', () => {
    const exporter = new InMemorySpanExporter();
    /** Spans ended so far of one trace, by name. */
    const spansOf = (traceId: string) =>
      exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const laneSpans = (traceId: string, kind: 'wait' | 'run') =>
      spansOf(traceId).filter((s) => s.name.startsWith(`lane.${kind} `));
    const ofTask = (taskId: string, kind: 'wait' | 'run') =>
      exporter
        .getFinishedSpans()
        .filter((s) => s.name.startsWith(`lane.${kind} `) && s.attributes['lane.task.id'] === taskId);
    /** Submits inside a parent span; returns the task id and the parent's span context. */
    const submitUnder = async (request: Parameters<ExpressClient['submit']>[0]) =>
      inSpan('test.submitter', {}, async (span) => ({
        ...(await client.submit(request)),
        parent: span.spanContext(),
      }));
    const waitForRuns = (traceId: string, n: number, what: string) =>
      waitFor(
        () => `${what}: ${laneSpans(traceId, 'run').length} of ${n} run spans ended`,
        () => laneSpans(traceId, 'run').length >= n && laneSpans(traceId, 'run'),
        15_000,
        20,
      );
    let worker: ExpressWorker;

    beforeAll(async () => {
      expect(startTracing({ spanProcessors: [new SimpleSpanProcessor(exporter)] })).toBe(true);
      worker = await startWorker([tracedType, hashTaskType], { poolThreads: { express: 1, standard: 1 } });
    });

    it('writes traceparent (and tracestate when present) into the entry', async () => {
      expect(tracingEnabled()).toBe(true);
      const parentContext = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: '0af7651916cd43dd8448eb211c80319c',
        spanId: 'b7ad6b7169203331',
        traceFlags: 1,
        traceState: new TraceState('vendor=opaque'),
      });
      const withState = await client.submit({ type: 'unserved', payload: { n: 2 }, parentContext });
      const active = await submitUnder({ type: 'unserved', payload: { n: 3 } });
      // No span active and none given: nothing to continue, nothing written.
      const none = await client.submit({ type: 'unserved', payload: { n: 4 } });
      const byId = new Map((await fieldsOf('unserved', 'standard')).map((f) => [f.id, f]));
      expect(byId.get(withState.taskId)).toMatchObject({
        tp: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        ts: 'vendor=opaque',
      });
      expect(byId.get(active.taskId)).toMatchObject({
        tp: `00-${active.parent.traceId}-${active.parent.spanId}-01`,
      });
      expect(byId.get(active.taskId)!.ts).toBeUndefined();
      expect(Object.keys(byId.get(none.taskId)!).sort()).toEqual(['id', 'm', 'payload']);
    });

    it('continues the submitter trace: wait and run spans are children of the submitting span', async () => {
      const { taskId, parent } = await submitUnder({ type: 'traced', payload: {} });
      expect((await client.result(taskId, { waitMs: 10_000 })).status).toBe('succeeded');
      await waitForRuns(parent.traceId, 1, 'the run span');
      const [wait] = laneSpans(parent.traceId, 'wait');
      const [run] = laneSpans(parent.traceId, 'run');
      expect(wait).toBeDefined();
      expect(wait!.name).toBe('lane.wait traced');
      expect(run!.name).toBe('lane.run traced');
      expect(wait!.parentSpanId).toBe(parent.spanId);
      expect(run!.parentSpanId).toBe(parent.spanId);
      expect(run!.kind).toBe(SpanKind.CONSUMER);
      expect(run!.attributes).toEqual({
        'lane.task.type': 'traced',
        'lane.task.id': taskId,
        'lane.name': 'express',
        'lane.partition': 0,
        'lane.delivery_count': 1,
        'lane.attempt': 1,
        'lane.consumer': worker.consumerName,
        'lane.pooled': false,
        'lane.outcome': 'succeeded',
      });
      expect(wait!.attributes).toMatchObject({ 'lane.task.id': taskId, 'lane.delivery_count': 1 });
      // The wait ends where the run starts (the pick), and no payload is in either span.
      expect(wait!.endTime).toEqual(run!.startTime);
      expect(JSON.stringify([wait!.attributes, run!.attributes])).not.toContain('failTimes');
      // The handler ran with the run span active: its own span is the run span's child.
      const phase = spansOf(parent.traceId).find((s) => s.name === 'handler.phase');
      expect(phase?.parentSpanId).toBe(run!.spanContext().spanId);
    });

    it('takes an explicit parent context over the active one', async () => {
      const explicit = tracer().startSpan('test.explicit');
      const parentContext: Context = trace.setSpan(ROOT_CONTEXT, explicit);
      const { taskId, parent: active } = await submitUnder({
        type: 'traced',
        payload: {},
        parentContext,
      });
      explicit.end();
      await client.result(taskId, { waitMs: 10_000 });
      const ctx = explicit.spanContext();
      const [run] = await waitForRuns(ctx.traceId, 1, 'the run span under the explicit parent');
      expect(run!.parentSpanId).toBe(ctx.spanId);
      expect(run!.attributes['lane.task.id']).toBe(taskId);
      expect(laneSpans(active.traceId, 'run')).toEqual([]);
    });

    it('a task that fails, then succeeds: one run span per attempt in the same trace, with the outcome', async () => {
      const { taskId, parent } = await submitUnder({ type: 'traced', payload: { failTimes: 1 } });
      expect((await client.result(taskId, { waitMs: 10_000 })).status).toBe('succeeded');
      const runs = (await waitForRuns(parent.traceId, 2, 'both attempts')).sort(
        (a, b) => Number(a.attributes['lane.attempt']) - Number(b.attributes['lane.attempt']),
      );
      expect(runs.map((s) => [s.attributes['lane.attempt'], s.attributes['lane.outcome']])).toEqual([
        [1, 'retrying'],
        [2, 'succeeded'],
      ]);
      expect(runs.every((s) => s.parentSpanId === parent.spanId)).toBe(true);
      expect(runs[0]!.status.code).toBe(SpanStatusCode.ERROR);
      expect(runs[0]!.events.map((e) => e.attributes?.['exception.message'])).toEqual([
        'planned failure 1/1',
      ]);
      expect(runs[1]!.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(laneSpans(parent.traceId, 'wait')).toHaveLength(2);
    });

    it('a task that dead-letters: its run span says so, with the reason', async () => {
      const { taskId, parent } = await submitUnder({ type: 'traced', payload: { fatal: true } });
      expect((await client.result(taskId, { waitMs: 10_000 })).status).toBe('dead');
      const [run] = await waitForRuns(parent.traceId, 1, 'the dead-lettered run');
      expect(run!.attributes).toMatchObject({
        'lane.outcome': 'dead_lettered',
        'lane.dead_reason': 'unrecoverable',
      });
      expect(run!.status.code).toBe(SpanStatusCode.ERROR);
      expect(run!.events[0]?.attributes).toMatchObject({
        'exception.type': 'UnrecoverableTaskError',
        'exception.message': 'cannot ever work',
      });
    });

    it('a malformed traceparent in an entry is ignored: the task succeeds, its run span is a new root', async () => {
      const stream = keys.stream('traced', 'express');
      const taskIds: string[] = [];
      for (const tp of ['garbage', `00-${'0'.repeat(32)}-${'0'.repeat(16)}-01`, '00-abc']) {
        const taskId = `traced:${randomUUID()}`;
        await redis.xadd(
          stream,
          '*',
          'id',
          taskId,
          'payload',
          '{}',
          'm',
          `1 3 10000 ${Date.now()}`,
          'tp',
          tp,
        );
        taskIds.push(taskId);
      }
      for (const taskId of taskIds) {
        expect((await client.result(taskId, { waitMs: 10_000 })).status).toBe('succeeded');
        const [run] = await waitFor(
          `the run span of ${taskId}`,
          () => ofTask(taskId, 'run').length > 0 && ofTask(taskId, 'run'),
          10_000,
          20,
        );
        expect(run!.parentSpanId).toBeUndefined();
        expect(run!.attributes['lane.outcome']).toBe('succeeded');
        // The wait is still in the trace, under the run span.
        const [wait] = ofTask(taskId, 'wait');
        expect(wait!.parentSpanId).toBe(run!.spanContext().spanId);
        expect(wait!.spanContext().traceId).toBe(run!.spanContext().traceId);
      }
    });

    it("an unsampled trace (the submitter's sampler said no) makes no lane spans, and the handler's stay unsampled", async () => {
      const stream = keys.stream('traced', 'express');
      const before = exporter.getFinishedSpans().length;
      const traceId = randomUUID().replace(/-/g, '');
      const taskId = `traced:${randomUUID()}`;
      // Flags 00: the submitter's trace is not sampled.
      const tp = `00-${traceId}-${'1'.repeat(16)}-00`;
      await redis.xadd(stream, '*', 'id', taskId, 'payload', '{}', 'm', `1 3 10000 ${Date.now()}`, 'tp', tp);
      expect((await client.result(taskId, { waitMs: 10_000 })).status).toBe('succeeded');
      // A sampled task after it, on the same worker: once its spans are in, the unsampled one's would be too.
      const sampled = await submitUnder({ type: 'traced', payload: {} });
      await waitForRuns(sampled.parent.traceId, 1, 'the sampled task');
      expect(ofTask(taskId, 'run')).toEqual([]);
      expect(ofTask(taskId, 'wait')).toEqual([]);
      // The handler's own span joined the unsampled trace (not recorded), rather than starting a sampled one.
      expect(spansOf(traceId)).toEqual([]);
      const phases = exporter
        .getFinishedSpans()
        .slice(before)
        .filter((s) => s.name === 'handler.phase');
      expect(phases).toHaveLength(1);
      expect(phases.every((s) => s.spanContext().traceId === sampled.parent.traceId)).toBe(true);
    });

    it('traces a pooled (thread) handler: the run span covers the pooled run', async () => {
      const { taskId, parent } = await submitUnder({ type: 'hash', payload: { data: 'abc', rounds: 10 } });
      expect((await client.result(taskId, { waitMs: 20_000 })).status).toBe('succeeded');
      const [run] = await waitForRuns(parent.traceId, 1, 'the pooled run span');
      expect(run!.name).toBe('lane.run hash');
      expect(run!.parentSpanId).toBe(parent.spanId);
      expect(run!.attributes).toMatchObject({
        'lane.pooled': true,
        'lane.name': 'standard',
        'lane.outcome': 'succeeded',
      });
      const info = await client.get(taskId);
      expect(run!.endTime[0] * 1000 + run!.endTime[1] / 1e6).toBeGreaterThanOrEqual(info!.startedAt! - 1);
    });

    it('a task handed back by a stopping worker: its run span says so, and the next delivery joins the trace', async () => {
      const slow = (consumer: string) =>
        createLaneTestTypes({ redis, prefix, consumer }).filter((t) => t.name === 'slow');
      const stopping = await startWorker(slow('stopping'), { consumerName: 'stopping', drainTimeoutMs: 100 });
      const { taskId, parent } = await submitUnder({ type: 'slow', payload: { ms: 1500 } });
      await waitFor('the task runs', async () => (await runCounts(redis, prefix)).get(taskId) === 1);
      await stopping.stop();
      const next = await startWorker(slow('next'), { consumerName: 'next' });
      expect((await client.result(taskId, { waitMs: 20_000 })).status).toBe('succeeded');
      const runs = (await waitForRuns(parent.traceId, 2, 'both deliveries')).sort(
        (a, b) => Number(a.attributes['lane.delivery_count']) - Number(b.attributes['lane.delivery_count']),
      );
      expect(
        runs.map((s) => [
          s.attributes['lane.delivery_count'],
          s.attributes['lane.consumer'],
          s.attributes['lane.outcome'],
        ]),
      ).toEqual([
        [1, 'stopping', 'handed_back'],
        [2, 'next', 'succeeded'],
      ]);
      expect(runs.every((s) => s.parentSpanId === parent.spanId)).toBe(true);
      await next.stop();
    });

    it('a redelivery after kill -9 is a new run span in the same trace, with delivery count 2', async () => {
      // The victim is a process of its own without tracing: its spans (had it any) die with it, unexported. What
      // the trace shows of the kill is the rescuer's delivery 2, whose wait span spans the victim's lost run.
      const victim = await spawnWorker({
        redisUrl: redisUrl(),
        keyPrefix: prefix,
        types: ['slow'],
        consumerName: 'victim',
        concurrency: { min: 2, max: 2 },
        autoscaleIntervalMs: 0,
      });
      procs.push(victim);
      const { taskId, parent } = await submitUnder({ type: 'slow', payload: { ms: 2000 } });
      await waitFor(
        'the victim runs the task',
        async () => (await runCounts(redis, prefix)).get(taskId) === 1,
      );
      victim.child.kill('SIGKILL');
      await victim.exited;
      const slow = createLaneTestTypes({ redis, prefix, consumer: 'rescuer' }).filter(
        (t) => t.name === 'slow',
      );
      const rescuer = await startWorker(slow, {
        consumerName: 'rescuer',
        minIdleMs: 300,
        janitorIntervalMs: 50,
      });
      expect((await client.result(taskId, { waitMs: 20_000 })).status).toBe('succeeded');
      expect((await runCounts(redis, prefix)).get(taskId)).toBe(2);
      const [run] = await waitForRuns(parent.traceId, 1, 'the rescuer run');
      expect(run!.parentSpanId).toBe(parent.spanId);
      expect(run!.attributes).toMatchObject({
        'lane.task.id': taskId,
        'lane.delivery_count': 2,
        'lane.consumer': rescuer.consumerName,
        'lane.outcome': 'succeeded',
      });
      const [wait] = laneSpans(parent.traceId, 'wait');
      expect(wait!.attributes['lane.delivery_count']).toBe(2);
      await rescuer.stop();
    });
  });
});

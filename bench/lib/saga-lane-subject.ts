/**
 * bench:saga's lane-dispatched subject: the same research pipeline with the same near-instant agents, but every step
 * runs on the express lane. A saga worker with the dispatch activities on its own task queue, and a lane worker
 * serving the `step.*` types whose handlers are the fast agents, completing the activities through async
 * completion (a first delivery makes no heartbeat before the handler: `ctx.redelivered`, with the step-run ledger
 * for the rest). Start sagas on `taskQueue`; `stop()` closes everything it opened.
 *
 * Run on its own it measures where a lane-dispatched saga's time goes beside an in-worker one (an A/B in one process
 * on one fresh dev server, the two subjects alternating saga by saga, so both see the same neighbours):
 *
 *   npx tsx bench/lib/saga-lane-subject.ts [--sagas 40] [--c50] [--only lane,inWorker]
 *
 * prints p50 latency and CPU per saga of each subject (in-worker; lane as shipped; lane with awaited steps; lane
 * completing through grpc-js; lane as before `ctx.redelivered`, every first run waiting for the ledger's SET NX),
 * their history gaps, and the timeline of a lane step (history events and the dispatch activity, lane worker and
 * completion call marks, see `LaneTimeline`); `--c50` adds sagas/s at 50 in flight.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import Redis from 'ioredis';
import { Context } from '@temporalio/activity';
import { Client, Connection, type AsyncCompletionClient } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type InjectedSinks } from '@temporalio/worker';
import { createLaneDispatchActivities } from '../../src/dispatch/lane-dispatch';
import {
  PIPELINE_DISPATCH_STEPS,
  pipelineAwaitedSteps,
  type AwaitedStepsSetting,
} from '../../src/activities/research/pipeline-dispatch-steps';
import type { PipelineActivities, PlanCacheActivities } from '../../src/activities/research/contracts';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { activityStepTypes, type StepHandler } from '../../src/dispatch/activity-completion';
import { stepTaskSchemas, type StepTaskPayload } from '../../src/dispatch/activity-step-contract';
import { ExpressClient } from '../../src/lane/express-client';
import { ExpressWorker } from '../../src/lane/express-worker';
import type { TaskContext, TaskType } from '../../src/lane/task-types';
import { startSagaWorker } from '../../src/runtime/saga-worker';
import { startTemporalDevServer } from '../../src/dev/temporal-server';
import {
  RESEARCH_PIPELINE_WORKFLOW,
  pipelineWorkflowId,
} from '../../src/workflows/research/pipeline-contract';
import { SAGA_METRICS_SINK, type SagaSinks } from '../../src/workflows/saga-sinks';
import { createFastPipelineActivities } from './fast-pipeline-activities';
import { historyGaps } from './history-timing';
import { deleteMatching, redisUrlFromEnv } from './redis-keys';
import { summarize } from './stats';

export interface LaneSubject {
  taskQueue: string;
  keyPrefix: string;
  stop(): Promise<void>;
}

/** Epoch milliseconds with sub-millisecond precision (history event times are epoch too, same machine clock). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * Marks per lane step (`<workflowId>/<activityId>`), in epoch ms: `dispatchStart` (the dispatch activity began),
 * `submitted` (its lane task is in Redis), `laneStart` (a lane worker called the step type's handler: read and
 * checked), `agentStart`/`agentEnd` (the agent itself), `completeSent`/`completeReturned` (the async-completion
 * call).
 */
export class LaneTimeline {
  readonly marks = new Map<string, Record<string, number>>();
  mark(key: string, name: string, at = nowMs()): void {
    const m = this.marks.get(key) ?? {};
    m[name] ??= at;
    this.marks.set(key, m);
  }
}

const stepKey = (a: { workflowId: string; activityId: string }) => `${a.workflowId}/${a.activityId}`;

export async function startLaneDispatchSubject(opts: {
  /** Shared with the bench's other subjects: same server, same worker connection. */
  nativeConnection: NativeConnection;
  /** A client on a grpc-js Connection: completes the activities with `completeVia: 'grpc-js'`. */
  client: Client;
  /**
   * What the lane worker completes activities through: `native`, a client on `nativeConnection` (as the shipped lane
   * worker, src/runtime/express-worker.ts), or `grpc-js`, `client` (as it did before). @defaultValue 'native'
   */
  completeVia?: 'native' | 'grpc-js';
  redisUrl: string;
  /** The fast agents (bench/lib/fast-pipeline-activities.ts). */
  agents: PipelineActivities & Partial<PlanCacheActivities>;
  sinks: InjectedSinks<SagaSinks>;
  /** Lane worker slots: at least the sagas in flight, so the lane is not the bottleneck. @defaultValue 128 */
  concurrency?: number;
  /** Records the marks of every lane step (the standalone run's timeline). @defaultValue none */
  timeline?: LaneTimeline;
  /**
   * Which quick steps are offered as local activities dispatched as awaited steps, as the lane-dispatch wiring does
   * for SAGALANE_AWAITED_STEPS (`localSteps`). @defaultValue 'none': every step a dispatched activity, as shipped
   */
  awaitedSteps?: AwaitedStepsSetting;
  /**
   * The path before the lane told handlers a first delivery from a redelivery (`ctx.redelivered`): the context
   * reaches the step types without it, so every first run waits for the ledger's `SET NX`. For the A/B in the
   * standalone run. @defaultValue false
   */
  ledgerRoundTrip?: boolean;
}): Promise<LaneSubject> {
  const taskQueue = `bench-saga-lane-${randomUUID().slice(0, 8)}`;
  const keyPrefix = `bench-saga-lane-${randomUUID().slice(0, 8)}`;
  const logger = createLogger('error');
  const tl = opts.timeline;
  const names = Object.keys(PIPELINE_DISPATCH_STEPS);
  const express = new ExpressClient({ types: stepTaskSchemas(names), redisUrl: opts.redisUrl, keyPrefix });
  const handlers: Record<string, StepHandler<never>> = {};
  for (const name of names) {
    const agent = opts.agents[name as keyof PipelineActivities] as (input: unknown) => Promise<unknown>;
    handlers[name] = tl
      ? async (input: unknown, ctx) => {
          tl.mark(stepKey(ctx.activity), 'agentStart');
          try {
            return await agent(input);
          } finally {
            tl.mark(stepKey(ctx.activity), 'agentEnd');
          }
        }
      : (input: unknown) => agent(input);
  }
  const concurrency = opts.concurrency ?? 128;
  // The step-run ledger: first runs skip the heartbeat that checks the attempt before the handler.
  const ledgerRedis = new Redis(opts.redisUrl);
  const tokens = new Map<string, string>();
  const completion =
    (opts.completeVia ?? 'native') === 'native'
      ? new Client({ connection: opts.nativeConnection }).activity
      : opts.client.activity;
  let types = activityStepTypes(handlers, {
    completion: tl ? timedCompletion(completion, tl, tokens) : completion,
    logger,
    runLedger: { redis: ledgerRedis, keyPrefix },
  });
  if (opts.ledgerRoundTrip) types = types.map(withoutRedelivered);
  if (tl) types = types.map((t) => timedStepType(t, tl, tokens));
  const lane = new ExpressWorker({
    types,
    redisUrl: opts.redisUrl,
    keyPrefix,
    concurrency: { min: concurrency, max: concurrency },
    autoscaleIntervalMs: 0,
    logger,
  });
  await lane.start();
  const awaited = opts.awaitedSteps ?? 'none';
  let dispatch = createLaneDispatchActivities({
    express,
    steps: PIPELINE_DISPATCH_STEPS,
    onDispatched: tl ? () => tl.mark(activityKey(), 'submitted') : undefined,
    awaited: { redis: ledgerRedis, keyPrefix },
  });
  if (tl) {
    dispatch = Object.fromEntries(
      Object.entries(dispatch).map(([name, fn]) => [
        name,
        (input: unknown, ...rest: unknown[]) => {
          const key = activityKey();
          tl.mark(key, 'dispatchStart');
          return fn(input, ...rest).finally(() => tl.mark(key, 'dispatchReturned'));
        },
      ]),
    );
  }
  const sagaWorker = await startSagaWorker({
    config: loadConfig({ SAGALANE_LOG_LEVEL: 'error' }),
    connection: opts.nativeConnection,
    taskQueue,
    // As the shipped lane-dispatch wiring: the plan-cache lookup runs in the saga worker (a local activity).
    activities: {
      ...dispatch,
      localSteps: pipelineAwaitedSteps(awaited),
      ...(opts.agents.cachedPlan ? { cachedPlan: opts.agents.cachedPlan } : {}),
    },
    sinks: opts.sinks,
    logger,
  });
  return {
    taskQueue,
    keyPrefix,
    async stop() {
      await sagaWorker.stop();
      await lane.stop();
      await express.close();
      // Leave nothing behind in the shared Redis (the lane's task records, streams and ledger live under keyPrefix).
      await deleteMatching(ledgerRedis, `${keyPrefix}:*`);
      ledgerRedis.disconnect();
    },
  };
}

function activityKey(): string {
  const info = Context.current().info;
  const activityId = info.isLocal ? `local-${info.activityId}` : info.activityId;
  return stepKey({ workflowId: info.workflowExecution?.workflowId ?? '?', activityId });
}

/** The step type with `redelivered` taken out of the lane's context (the ledger decides, as before). */
function withoutRedelivered(type: TaskType): TaskType {
  const handler = type.handler as (payload: unknown, ctx: TaskContext) => Promise<unknown>;
  return {
    ...type,
    handler: ((payload: unknown, ctx: TaskContext) =>
      handler(payload, {
        signal: ctx.signal,
        taskId: ctx.taskId,
        attempt: ctx.attempt,
      })) as TaskType['handler'],
  };
}

/** The step type with `laneStart` marked when the lane worker calls it (and its token remembered for the call marks). */
function timedStepType(type: TaskType, tl: LaneTimeline, tokens: Map<string, string>): TaskType {
  const handler = type.handler as (payload: StepTaskPayload, ctx: unknown) => Promise<unknown>;
  return {
    ...type,
    handler: ((payload: StepTaskPayload, ctx: unknown) => {
      const key = stepKey(payload.activity);
      tl.mark(key, 'laneStart');
      if (payload.taskToken) tokens.set(payload.taskToken, key);
      return handler(payload, ctx);
    }) as TaskType['handler'],
  };
}

/** The async-completion client with `completeSent`/`completeReturned` marked around each `complete`. */
function timedCompletion(
  real: AsyncCompletionClient,
  tl: LaneTimeline,
  tokens: Map<string, string>,
): AsyncCompletionClient {
  return new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'complete' || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value;
      }
      return async (token: Uint8Array, result: unknown) => {
        const key = tokens.get(Buffer.from(token).toString('base64')) ?? '?';
        tl.mark(key, 'completeSent');
        try {
          return await (value as (t: Uint8Array, r: unknown) => Promise<void>).call(target, token, result);
        } finally {
          tl.mark(key, 'completeReturned');
        }
      };
    },
  });
}

/** One lane step's segments, ms, in the order they happen (history events from the server, marks from here). */
const SEGMENTS: [string, string, string][] = [
  ['ActivityTaskScheduled → dispatch activity starts (eager)', 'scheduled', 'dispatchStart'],
  ['dispatch activity → lane task submitted (Redis)', 'dispatchStart', 'submitted'],
  ['submitted → lane worker runs the step type (read)', 'submitted', 'laneStart'],
  ['step type → agent starts (ledger SET NX on laneLedgerRtt only)', 'laneStart', 'agentStart'],
  ['agent runs', 'agentStart', 'agentEnd'],
  ['agent done → complete() sent', 'agentEnd', 'completeSent'],
  ['complete() sent → ActivityTaskCompleted (history)', 'completeSent', 'completed'],
  ['ActivityTaskCompleted → complete() returns', 'completed', 'completeReturned'],
  ['ActivityTaskCompleted → WorkflowTaskStarted', 'completed', 'wftStarted'],
  ['WorkflowTaskStarted → WorkflowTaskCompleted', 'wftStarted', 'wftCompleted'],
];

/** An awaited step's segments (a local activity: no history events of its own but its marker). */
const AWAITED_SEGMENTS: [string, string, string][] = [
  ['dispatch (local activity) → lane task submitted', 'dispatchStart', 'submitted'],
  ['submitted → lane worker runs the step type (read)', 'submitted', 'laneStart'],
  ['step type → agent starts (over-mark check)', 'laneStart', 'agentStart'],
  ['agent runs', 'agentStart', 'agentEnd'],
  ['agent done → dispatch returns (outcome write, notify, read)', 'agentEnd', 'dispatchReturned'],
  ['whole awaited step', 'dispatchStart', 'dispatchReturned'],
];

type HistoryEvent = Record<string, unknown> & { eventId?: unknown; eventTime?: unknown };

function eventMs(e: HistoryEvent): number {
  const t = e.eventTime as { seconds?: unknown; nanos?: number | null } | undefined;
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

/** Per activity of the history: scheduled, completed and the next workflow task's started and completed times. */
function activityEvents(workflowId: string, events: HistoryEvent[]): Map<string, Record<string, number>> {
  const byScheduledId = new Map<number, string>();
  const out = new Map<string, Record<string, number>>();
  events.forEach((e, i) => {
    const scheduled = e.activityTaskScheduledEventAttributes as { activityId?: string } | null | undefined;
    if (scheduled?.activityId) {
      const key = `${workflowId}/${scheduled.activityId}`;
      byScheduledId.set(Number(e.eventId), key);
      out.set(key, { scheduled: eventMs(e) });
    }
    const done = e.activityTaskCompletedEventAttributes as { scheduledEventId?: unknown } | null | undefined;
    if (done) {
      const m = out.get(byScheduledId.get(Number(done.scheduledEventId)) ?? '');
      if (!m) return;
      m.completed = eventMs(e);
      const next = events.slice(i + 1);
      const started = next.find((n) => n.workflowTaskStartedEventAttributes);
      const completed = next.find((n) => n.workflowTaskCompletedEventAttributes);
      if (started) m.wftStarted = eventMs(started);
      if (completed) m.wftCompleted = eventMs(completed);
    }
  });
  return out;
}

async function main(): Promise<void> {
  const arg = process.argv.indexOf('--sagas');
  const sagas = arg > 0 ? Number(process.argv[arg + 1]) : 40;
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const load0 = os.loadavg()[0]!;
  const server = await startTemporalDevServer({ logLevel: 'error' });
  const port = server.address.split(':').pop();
  const serverPid = Number(
    execFileSync('pgrep', ['-f', `start-dev --port ${port} `], { encoding: 'utf8' })
      .trim()
      .split('\n')[0],
  );
  // utime + stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks (100 per second on Linux).
  const serverCpuMs = () => {
    const fields = fs.readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  const noop = { fn: () => undefined, callDuringReplay: false };
  const sinks: InjectedSinks<SagaSinks> = {
    [SAGA_METRICS_SINK]: {
      sagaStarted: noop,
      stateTransition: noop,
      stepFinished: noop,
      compensationFinished: noop,
      sagaEnded: noop,
    },
  };
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const eagerClient = new Client({ connection: native });
  const { activities } = createFastPipelineActivities();
  const inWorkerQueue = `lane-ab-inworker-${randomUUID().slice(0, 8)}`;
  const inWorker = await startSagaWorker({
    config: loadConfig({ SAGALANE_LOG_LEVEL: 'error' }),
    connection: native,
    taskQueue: inWorkerQueue,
    activities,
    sinks,
    logger: createLogger('error'),
  });
  const timeline = new LaneTimeline();
  const laneSubject = (
    awaitedSteps: AwaitedStepsSetting,
    completeVia: 'native' | 'grpc-js',
    ledgerRoundTrip = false,
  ) =>
    startLaneDispatchSubject({
      nativeConnection: native,
      client,
      completeVia,
      ledgerRoundTrip,
      redisUrl: redisUrlFromEnv(),
      agents: activities,
      sinks,
      timeline,
      awaitedSteps,
    });
  // `lane` as shipped (every step a dispatched activity); `laneAwaited` with SAGALANE_AWAITED_STEPS=all (codegen and
  // the compensations awaited steps); `laneGrpcJs` completing through a grpc-js Connection.
  const lane = await laneSubject('none', 'native');
  const laneAwaited = await laneSubject('all', 'native');
  const laneGrpcJs = await laneSubject('none', 'grpc-js');
  // Before `ctx.redelivered`: every first run waited for the ledger's SET NX.
  const laneLedgerRtt = await laneSubject('none', 'native', true);
  const subjects = {
    inWorker: inWorkerQueue,
    lane: lane.taskQueue,
    laneAwaited: laneAwaited.taskQueue,
    laneGrpcJs: laneGrpcJs.taskQueue,
    laneLedgerRtt: laneLedgerRtt.taskQueue,
  };
  type Name = keyof typeof subjects;
  // `--only lane,inWorker`: measure only those (e.g. to profile one subject with `node --cpu-prof`).
  const only = process.argv.indexOf('--only');
  const names = (Object.keys(subjects) as Name[]).filter(
    (n) => only < 0 || process.argv[only + 1]!.split(',').includes(n),
  );
  const measured = Object.fromEntries(
    names.map((n) => [n, { lat: [] as number[], cpu: 0, server: 0, ids: [] as string[] }]),
  ) as Record<Name, { lat: number[]; cpu: number; server: number; ids: string[] }>;
  const one = async (name: Name, record: boolean) => {
    const cpu0 = process.cpuUsage();
    const server0 = serverCpuMs();
    const t0 = performance.now();
    const handle = await eagerClient.workflow.start(RESEARCH_PIPELINE_WORKFLOW, {
      taskQueue: subjects[name],
      workflowId: pipelineWorkflowId('LANEAB', randomUUID()),
      args: [{ idea: 'lane A/B saga', symbol: 'LANEAB' }],
      requestEagerStart: true,
    });
    await handle.result();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (!record) return;
    const m = measured[name];
    m.lat.push(ms);
    m.cpu += (cpu.user + cpu.system) / 1000;
    m.server += serverCpuMs() - server0;
    m.ids.push(handle.workflowId);
  };
  for (let i = 0; i < 5; i++) for (const name of names) await one(name, false);
  // The subjects take turns, the order rotating, so none always runs right after the same other one.
  for (let i = 0; i < sagas; i++) {
    for (let j = 0; j < names.length; j++) await one(names[(i + j) % names.length]!, true);
  }
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : 'n/a');
  if (process.argv.includes('--c50')) {
    // Sagas per second at 50 in flight, 5 s per subject, one subject after the other (the same order twice).
    for (const round of [1, 2]) {
      for (const name of names) {
        let done = 0;
        const end = performance.now() + 5_000;
        await Promise.all(
          Array.from({ length: 50 }, async () => {
            while (performance.now() < end) {
              await one(name, false);
              done++;
            }
          }),
        );
        console.log(`c=50 round ${round}: ${name.padEnd(10)} ${(done / 5).toFixed(1)} sagas/s`);
      }
    }
  }
  console.log(
    `${sagas} sagas each, one at a time, taking turns; load ${load0.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}`,
  );
  const p50 = (name: Name) => summarize(measured[name].lat).p50;
  for (const name of names) {
    const m = measured[name];
    const s = summarize(m.lat);
    console.log(
      `${name.padEnd(15)} p50 ${f(s.p50)} ms${name === 'inWorker' || !names.includes('inWorker') ? '' : ` (+${f(s.p50 - p50('inWorker'))})`} p95 ${f(s.p95)} mean ${f(s.mean)}` +
        ` | CPU per saga: worker+client+lane ${f(m.cpu / sagas)} ms, server ${f(m.server / sagas)} ms`,
    );
  }
  for (const name of names) {
    console.log(`\nhistory gaps, ${name} (ms per saga, times per saga):`);
    for (const g of (await historyGaps(client, measured[name].ids)).slice(0, 8))
      console.log(`  ${g.gap.padEnd(62)} ${f(g.msPerSaga).padStart(7)}  ×${g.occurrencesPerSaga.toFixed(1)}`);
  }
  for (const name of names.filter((n) => n !== 'inWorker')) {
    const dispatched = new Map<string, number[]>();
    const awaitedSegments = new Map<string, number[]>();
    let steps = 0;
    let awaitedSteps = 0;
    const add = (into: Map<string, number[]>, label: string, ms: number) =>
      into.set(label, [...(into.get(label) ?? []), ms]);
    for (const id of measured[name].ids) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      for (const [key, events] of activityEvents(id, (history.events ?? []) as HistoryEvent[])) {
        const m = { ...events, ...timeline.marks.get(key) };
        steps++;
        for (const [label, from, to] of SEGMENTS)
          if (m[from] !== undefined && m[to] !== undefined) add(dispatched, label, m[to]! - m[from]!);
      }
      for (const [key, m] of timeline.marks) {
        if (!key.startsWith(`${id}/local-`)) continue;
        awaitedSteps++;
        for (const [label, from, to] of AWAITED_SEGMENTS)
          if (m[from] !== undefined && m[to] !== undefined) add(awaitedSegments, label, m[to]! - m[from]!);
      }
    }
    console.log(`\n${name}: per dispatched step (${f(steps / sagas)} per saga), ms: median, mean`);
    for (const [label] of SEGMENTS) {
      const s = summarize(dispatched.get(label) ?? []);
      console.log(`  ${label.padEnd(60)} ${f(s.p50).padStart(7)} ${f(s.mean).padStart(7)}`);
    }
    if (!awaitedSteps) continue;
    console.log(`${name}: per awaited step (${f(awaitedSteps / sagas)} per saga), ms: median, mean`);
    for (const [label] of AWAITED_SEGMENTS) {
      const s = summarize(awaitedSegments.get(label) ?? []);
      console.log(`  ${label.padEnd(60)} ${f(s.p50).padStart(7)} ${f(s.mean).padStart(7)}`);
    }
  }
  await lane.stop();
  await laneGrpcJs.stop();
  await laneAwaited.stop();
  await laneLedgerRtt.stop();
  await inWorker.stop();
  await native.close();
  await connection.close();
  await server.stop();
  process.exit(0);
}

if (require.main === module) void main();

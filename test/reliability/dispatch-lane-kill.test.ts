/**
 * 50 sagas whose steps run on the lane while lane worker processes are `kill -9`ed every few seconds (and replaced).
 * Every saga must end as its input says (completed, or rolled back for `FAILML…`), every step and compensation must
 * reach Temporal exactly once (one completion, no failure or timeout from the kills), and no run of a step or
 * compensation may start after its activity completed (a rerun of a finished step is dropped before it runs).
 * Reruns are counted and reported: after a kill (expected), and on live workers whose entry the lane's janitor took
 * for an orphan (the lane is at-least-once; Temporal's completion is still single). The latter must stay rare: a
 * live worker loses an entry only when its keepalive lapses for minIdleMs (1.5 s, four keepalive periods), so at
 * most LIVE_RERUN_BOUND of them, each a redelivery of the same lane task (never a second dispatch). Run twice: with
 * every step a dispatched activity, and with codegen an awaited step (a local activity waiting for its lane task, as
 * the shipped saga worker runs it), which then has no activity in the history and must still run to one result.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import type Redis from 'ioredis';
import type { ExpressClient } from '../../src/lane/express-client';
import { pipelineWorkflowId } from '../../src/workflows/research/pipeline-contract';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';
import { failureOf, queryState, startPipeline } from '../sagas/saga-test-kit';
import {
  spawnStepWorker,
  startDispatchingSagaWorker,
  stepClient,
  type SpawnedProcess,
} from '../dispatch/dispatch-kit';
import { recordedRuns } from '../dispatch/fixtures/step-handlers';

const SAGAS = 50;
const ROLLBACK_EVERY = 5; // every 5th saga fails in ml and rolls back
const KILL_EVERY_MS = 2_000;
const WORKERS = 3;
/**
 * Reruns of a run whose worker was alive (its entry taken for an orphan after a keepalive lapse of 1.5 s) allowed
 * per scenario of ~220 runs: a stalled event loop on a loaded machine, now and then; not a pattern. Measured: 0 in
 * both scenarios; 3 with the lapse that counts cut to 100 ms (minIdleMs 100, keepalive every 99 ms).
 */
const LIVE_RERUN_BOUND = 2;

describe.each([
  ['every step a dispatched activity', false],
  ['codegen an awaited step', true],
])('lane-dispatched sagas while lane workers are kill -9ed (%s)', (_mode, awaited) => {
  let ctx: TemporalTestContext;
  let redis: Redis;
  let express: ExpressClient;
  const prefix = uniquePrefix('dispatch-chaos');
  const taskQueue = uniqueTaskQueue('dispatch-chaos');
  const live: SpawnedProcess[] = [];
  const all: SpawnedProcess[] = [];
  const killedPids = new Set<number>();
  let spawnedCount = 0;

  const spawnOne = async () => {
    const p = await spawnStepWorker({
      prefix,
      consumer: `chaos-${spawnedCount++}`,
      temporalAddress: temporalAddress(),
      stepMs: 400,
      concurrency: 3,
    });
    live.push(p);
    all.push(p);
  };

  beforeAll(async () => {
    ctx = await temporalTestContext();
    redis = redisClient();
    express = stepClient(prefix);
    await startDispatchingSagaWorker(ctx, taskQueue, express, awaited ? { redis, prefix } : undefined);
    await Promise.all(Array.from({ length: WORKERS }, spawnOne));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(all.map((p) => p.kill9()));
    await ctx?.closeAll();
    await express?.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });

  it('every saga correct, each step and compensation completed once in Temporal, no finished step re-run', async () => {
    const handles: { handle: WorkflowHandle; rollback: boolean }[] = [];
    for (let i = 0; i < SAGAS; i++) {
      const rollback = i % ROLLBACK_EVERY === ROLLBACK_EVERY - 1;
      const symbol = rollback ? `FAILML${i}` : `CHAOS${i}`;
      const handle = await startPipeline(
        ctx.client,
        taskQueue,
        { idea: `chaos saga ${i}`, symbol, timeoutMs: 240_000 },
        {
          workflowId: pipelineWorkflowId(symbol, randomUUID()),
          tuning: { heartbeatTimeoutMs: 20_000, retryInitialIntervalMs: 100, compensationMaximumAttempts: 5 },
        },
      );
      handles.push({ handle, rollback });
    }

    let kills = 0;
    let chaos = true;
    const chaosLoop = (async () => {
      while (chaos) {
        await new Promise((r) => setTimeout(r, KILL_EVERY_MS));
        if (!chaos) break;
        const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0];
        if (!victim) continue;
        killedPids.add(victim.child.pid!);
        await victim.kill9();
        kills++;
        await spawnOne();
      }
    })();

    try {
      await Promise.all(
        handles.map(async ({ handle, rollback }) => {
          if (rollback) {
            const failure = await failureOf(handle);
            expect(failure.cause?.type).toBe('SagaRolledBack');
          } else {
            await handle.result();
          }
        }),
      );
    } finally {
      chaos = false;
      await chaosLoop;
    }
    expect(kills).toBeGreaterThanOrEqual(3);

    let reruns = 0;
    let duplicatesOnLiveWorkers = 0;
    let liveRerunsOfOtherTasks = 0;
    let lateRuns = 0;
    for (const { handle, rollback } of handles) {
      const state = await queryState(handle);
      expect({ saga: handle.workflowId, state: state.state }).toEqual({
        saga: handle.workflowId,
        state: rollback ? 'rolled_back' : 'completed',
      });
      const expected = rollback
        ? ['reasoning', 'codegen', 'ml', 'compensateCodegen', 'compensateReasoning']
        : ['reasoning', 'codegen', 'ml', 'backtest'];
      const runs = await recordedRuns(redis, prefix, handle.workflowId);
      // Runs of each activity, in order; every run but the last was on a process that was killed, or (rarely, see
      // LIVE_RERUN_BOUND) on a live one whose entry was reclaimed: then the same lane task ran again.
      for (const name of expected) {
        const mine = runs.filter((r) => r.name === name);
        expect({ saga: handle.workflowId, name, ran: mine.length > 0 }).toEqual({
          saga: handle.workflowId,
          name,
          ran: true,
        });
        const earlier = mine.slice(0, -1);
        reruns += earlier.length;
        for (const [i, run] of earlier.entries()) {
          if (killedPids.has(run.pid)) continue;
          duplicatesOnLiveWorkers++;
          liveRerunsOfOtherTasks += mine.slice(i + 1).some((r) => r.taskId === run.taskId) ? 0 : 1;
        }
      }
      expect(runs.filter((r) => !expected.includes(r.name))).toEqual([]);
      // Temporal's view: one completion per activity, nothing failed or timed out because of the kills.
      const events = (await handle.fetchHistory()).events ?? [];
      const types = new Map<string, string>();
      const completed: string[] = [];
      const completedAt = new Map<string, number>();
      for (const e of events) {
        const scheduled = e.activityTaskScheduledEventAttributes;
        if (scheduled) types.set(String(e.eventId), scheduled.activityType?.name ?? '?');
        const done = e.activityTaskCompletedEventAttributes;
        if (done) {
          const name = types.get(String(done.scheduledEventId)) ?? '?';
          completed.push(name);
          completedAt.set(
            name,
            Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6),
          );
        }
        if (e.activityTaskTimedOutEventAttributes) completed.push('timed-out');
        const failed = e.activityTaskFailedEventAttributes;
        if (failed) completed.push(`failed:${types.get(String(failed.scheduledEventId))}`);
      }
      // An awaited codegen is a local activity: no activity events.
      const activities = (names: string[]) => names.filter((n) => !(awaited && n === 'codegen'));
      expect({ saga: handle.workflowId, completed }).toEqual({
        saga: handle.workflowId,
        completed: activities(
          rollback
            ? ['reasoning', 'codegen', 'failed:ml', 'compensateCodegen', 'compensateReasoning']
            : expected,
        ),
      });
      // No run started after its activity completed (a rerun of a finished step stops at its first heartbeat).
      lateRuns += runs.filter((r) => r.at > (completedAt.get(r.name) ?? Infinity)).length;
    }
    process.stderr.write(
      `dispatch chaos${awaited ? ' (awaited codegen)' : ''}: ${SAGAS} sagas, ${kills} kills, ${reruns} reruns by the lane ` +
        `(${duplicatesOnLiveWorkers} while the earlier run's worker was alive), ${lateRuns} runs after completion\n`,
    );
    expect(liveRerunsOfOtherTasks).toBe(0);
    expect(duplicatesOnLiveWorkers).toBeLessThanOrEqual(LIVE_RERUN_BOUND);
    expect(lateRuns).toBe(0);
  }, 280_000);
});

/**
 * Determinism guard for lane-dispatched sagas: histories of sagas whose steps ran on the lane (standard and express
 * priority, rolled back, cancelled mid-step, and with codegen as an awaited step: a local activity) are committed under test/dispatch/histories and must replay against the
 * current workflow code, like the in-worker histories of test/sagas/replay.test.ts (recorded before lane dispatch
 * existed, which still replay too).
 *
 * Record a new shape (writes only missing files): `SAGALANE_WRITE_DISPATCH_HISTORIES=1 npx jest test/dispatch/dispatch-replay`
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { createLogSagaSinks } from '../../src/runtime/saga-worker';
import { pipelineWorkflowId, type PipelineInput } from '../../src/workflows/research/pipeline-contract';
import { cancelUpdate } from '../../src/workflows/saga-contract';
import { deleteKeys, redisClient, uniquePrefix } from '../helpers/redis';
import { temporalTestContext, uniqueTaskQueue, workflowBundlePath } from '../helpers/temporal';
import { failureOf, startPipeline, waitForState } from '../sagas/saga-test-kit';
import { waitFor } from '../helpers/wait';
import { startDispatchingSagaWorker, startStepWorker, stepClient } from './dispatch-kit';
import { recordedRuns } from './fixtures/step-handlers';

const sinks = createLogSagaSinks(createLogger('silent'));
const HISTORIES_DIR = path.resolve(__dirname, 'histories');
const KINDS = ['completed', 'express-completed', 'rolled-back', 'cancelled', 'awaited-completed'] as const;
type Kind = (typeof KINDS)[number];
const historyFile = (kind: Kind) => path.join(HISTORIES_DIR, `lane-dispatched-${kind}.json`);

async function writeHistories(): Promise<void> {
  const ctx = await temporalTestContext();
  const redis = redisClient();
  const prefix = uniquePrefix('dispatch-replay');
  const taskQueue = uniqueTaskQueue('dispatch-replay');
  const express = stepClient(prefix);
  const lane = await startStepWorker({ client: ctx.client, redis, prefix, ledger: true });
  try {
    await startDispatchingSagaWorker(ctx, taskQueue, express);
    // The shipped wiring's shape: codegen offered as a local activity, an awaited step.
    await startDispatchingSagaWorker(ctx, `${taskQueue}-awaited`, express, { redis, prefix });
    const inputs: Record<Kind, PipelineInput> = {
      completed: { idea: 'replay lane', symbol: 'REPLAYLANE' },
      'express-completed': { idea: 'replay express', symbol: 'REPLAYEXP', priority: 'express' },
      'rolled-back': { idea: 'replay rollback', symbol: 'FAILMLREPLAY' },
      cancelled: { idea: 'replay cancel', symbol: 'BLOCKMLREPLAY' },
      'awaited-completed': { idea: 'replay awaited', symbol: 'REPLAYAWAIT' },
    };
    fs.mkdirSync(HISTORIES_DIR, { recursive: true });
    // Only missing files: a committed history is what running sagas look like and is never rewritten.
    for (const kind of KINDS.filter((k) => !fs.existsSync(historyFile(k)))) {
      const input = inputs[kind];
      const queue = kind.startsWith('awaited') ? `${taskQueue}-awaited` : taskQueue;
      const handle = await startPipeline(ctx.client, queue, input, {
        workflowId: pipelineWorkflowId(input.symbol, randomUUID()),
      });
      if (kind === 'cancelled') {
        await waitFor('ml on the lane', async () =>
          (await recordedRuns(redis, prefix, handle.workflowId)).some((r) => r.name === 'ml'),
        );
        await waitForState(handle, (s) => s.currentStep === 'ml');
        await handle.executeUpdate(cancelUpdate, { args: ['recorded for the replay test'] });
      }
      if (kind.endsWith('completed')) await handle.result();
      else await failureOf(handle);
      fs.writeFileSync(historyFile(kind), JSON.stringify(await handle.fetchHistory(), null, 1) + '\n');
    }
  } finally {
    await lane.stop();
    await ctx.closeAll();
    await express.close();
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
}

describe('lane-dispatched saga histories replay against the current workflow code', () => {
  beforeAll(async () => {
    if (process.env.SAGALANE_WRITE_DISPATCH_HISTORIES === '1') await writeHistories();
  });

  it('has committed histories whose steps completed through the lane (lane envelope, express lane hint)', () => {
    const text = (kind: Kind) => fs.readFileSync(historyFile(kind), 'utf8');
    // Payloads are base64 JSON; the lane envelope's marker and the express hint are in there.
    const decoded = (kind: Kind) =>
      (JSON.parse(text(kind)).events as { [k: string]: { result?: { payloads?: { data?: string }[] } } }[])
        .flatMap((e) => Object.values(e))
        .map((a) => JSON.stringify(a))
        .join('\n')
        .replace(/"data":"([A-Za-z0-9+/=]+)"/g, (_m, b64: string) => Buffer.from(b64, 'base64').toString());
    for (const kind of KINDS) expect(decoded(kind)).toContain('sagalaneLaneStep');
    expect(decoded('express-completed')).toContain('"sagalaneLane":"express"');
    expect(text('cancelled')).toContain('ACTIVITY_TASK_CANCELED');
    // The awaited codegen: a local-activity marker holding the lane envelope, no codegen activity.
    expect(text('awaited-completed')).toContain('EVENT_TYPE_MARKER_RECORDED');
    expect(decoded('awaited-completed')).toMatch(
      /"sagalaneLaneStep":\{"lane":"express","taskId":"step\.codegen:/,
    );
    expect(text('awaited-completed')).not.toMatch(/"activityType":\{\s*"name":\s*"codegen"/);
  });

  it('replays every history without a nondeterminism error', async () => {
    const histories = KINDS.map((kind) => ({
      workflowId: `replay-${kind}`,
      history: temporal.api.history.v1.History.fromObject(
        JSON.parse(fs.readFileSync(historyFile(kind), 'utf8')),
      ),
    }));
    const results = [];
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: workflowBundlePath() }, sinks },
      histories,
    )) {
      results.push({ workflowId: result.workflowId, error: result.error?.message });
    }
    expect(results).toEqual(KINDS.map((kind) => ({ workflowId: `replay-${kind}`, error: undefined })));
  });
});

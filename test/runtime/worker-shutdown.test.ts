/**
 * SIGTERM to the shipped worker processes, started as users start them (`sagalane worker saga|express`), with work
 * in flight: the work finishes, nothing runs twice, the process exits 0. The work in flight is a reasoning step
 * whose LLM call (a local OpenAI-compatible server of this test) is held open until the worker has begun to shut
 * down, so the order "SIGTERM first, then the activity completes" is certain rather than timed.
 *
 * The saga worker loads a prebuilt workflow bundle through SAGALANE_WORKFLOW_BUNDLE, and keeps the documented
 * default grace time (SAGALANE_SHUTDOWN_GRACE_MS unset: 30 s).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SagaClient } from '../../src/client/saga-client';
import { DEFAULT_TASK_SCHEMAS } from '../../src/client/front-door';
import { loadConfig } from '../../src/config';
import { ExpressClient } from '../../src/lane/express-client';
import { createLogger } from '../../src/logger';
import { startSagaWorker } from '../../src/runtime/saga-worker';
import { writeWorkflowBundle } from '../../src/runtime/workflow-bundle';
import { cliPath, pollUntil, repoRoot, nodeBin } from '../front/front-kit';
import { deleteKeys, redisClient, redisUrl, uniquePrefix } from '../helpers/redis';
import {
  temporalAddress,
  temporalTestContext,
  uniqueTaskQueue,
  type TemporalTestContext,
} from '../helpers/temporal';

jest.setTimeout(240_000);

/** An LLM endpoint that holds the first request until `release()`, and answers later ones at once. */
class HeldLlm {
  private server?: http.Server;
  private readonly sockets = new Set<Socket>();
  private held?: () => void;
  private onArrival?: () => void;
  private requests = 0;
  readonly arrived = new Promise<void>((resolve) => (this.onArrival = resolve));

  async start(): Promise<string> {
    // The plan test/agents/llm-planner.test.ts uses: one the planner accepts as it is.
    const plan = {
      family: 'breakout',
      parameterRanges: {
        lookback: { min: 20, max: 40, step: 10 },
        exitLookback: { min: 10, max: 10, step: 1 },
      },
      rationale: 'new highs tend to continue',
    };
    const body = JSON.stringify({
      choices: [{ message: { role: 'assistant', content: JSON.stringify(plan) } }],
    });
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.requests += 1;
        const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        if (this.requests === 1) {
          this.held = answer;
          this.onArrival?.();
        } else answer();
      });
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  release(): void {
    this.held?.();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

interface WorkerProcess {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startWorkerProcess(kind: 'saga' | 'express', env: NodeJS.ProcessEnv): WorkerProcess {
  const child = spawn(nodeBin, [cliPath, 'worker', kind], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

const untilLogged = (w: WorkerProcess, pattern: RegExp, timeoutMs = 60_000) =>
  pollUntil(
    async () => w.stderr(),
    (s) => pattern.test(s) || w.child.exitCode !== null,
    timeoutMs,
    50,
  ).then((s) => {
    if (!pattern.test(s)) throw new Error(`worker exited before logging ${pattern}:\n${s}`);
  });

describe('SIGTERM to a shipped worker process with work in flight', () => {
  const keyPrefix = uniquePrefix('worker-shutdown');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sagalane-shutdown-'));
  let ctx: TemporalTestContext;
  let bundle: string;

  beforeAll(async () => {
    ctx = await temporalTestContext();
    bundle = await writeWorkflowBundle(path.join(dir, 'workflow-bundle.js'));
  });
  afterAll(async () => {
    await ctx?.closeAll();
    const redis = redisClient();
    await deleteKeys(redis, keyPrefix);
    redis.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // The documented default grace time: SAGALANE_SHUTDOWN_GRACE_MS unset.
  const { SAGALANE_SHUTDOWN_GRACE_MS: _unset, ...inherited } = process.env;
  const baseEnv = (llm: string, taskQueue: string): NodeJS.ProcessEnv => ({
    ...inherited,
    TEMPORAL_ADDRESS: temporalAddress(),
    SAGALANE_TASK_QUEUE: taskQueue,
    SAGALANE_KEY_PREFIX: keyPrefix,
    REDIS_URL: redisUrl(),
    SAGALANE_LLM_BASE_URL: llm,
    SAGALANE_LLM_MODEL: 'test-model',
    SAGALANE_METRICS_PORT: '0',
    SAGALANE_LOG_LEVEL: 'info',
  });

  it('saga worker: the running step completes after SIGTERM, the process exits 0, and the saga goes on elsewhere', async () => {
    const llm = new HeldLlm();
    const taskQueue = uniqueTaskQueue('worker-shutdown');
    // Inline dispatch: the agent runs inside this saga worker, which is what the grace time protects. (With the
    // default lane dispatch the step runs on a lane worker and outlives the saga worker: test/dispatch.)
    const env = {
      ...baseEnv(await llm.start(), taskQueue),
      SAGALANE_WORKFLOW_BUNDLE: bundle,
      SAGALANE_STEP_DISPATCH: 'inline',
    };
    const worker = startWorkerProcess('saga', env);
    const sagas = new SagaClient(ctx.client, { taskQueue });
    try {
      await untilLogged(worker, /running; Ctrl-C/);
      const { sagaId } = await sagas.startPipeline(
        { idea: `breakout to new highs ${randomUUID()}`, symbol: 'DEMO' },
        { workflowId: `worker-shutdown-${randomUUID()}` },
      );
      await llm.arrived; // the reasoning activity is running, waiting for its LLM answer

      worker.child.kill('SIGTERM');
      await untilLogged(worker, /saga worker stopping/);
      expect(worker.stderr()).toContain('"shutdownGraceTime":"30000ms"');
      llm.release();
      expect(await worker.exited).toBe(0);

      // Another worker picks the saga up at the next step: reasoning ran once, in the worker that was stopped.
      const next = await startSagaWorker({
        config: loadConfig(env),
        workflowBundlePath: bundle,
        logger: createLogger('silent'),
      });
      try {
        await sagas.result(sagaId);
        const state = await sagas.getState(sagaId);
        expect(state.state).toBe('completed');
        expect(state.steps.find((s) => s.name === 'reasoning')).toMatchObject({
          status: 'completed',
          attempts: 1,
        });
      } finally {
        await next.stop();
      }
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await llm.stop();
    }
  });

  it('express worker: the running task succeeds after SIGTERM and the process exits 0', async () => {
    const llm = new HeldLlm();
    const env = baseEnv(await llm.start(), uniqueTaskQueue('worker-shutdown-express'));
    const worker = startWorkerProcess('express', env);
    const express = new ExpressClient({ types: DEFAULT_TASK_SCHEMAS, redisUrl: redisUrl(), keyPrefix });
    try {
      await untilLogged(worker, /running; Ctrl-C/);
      const { taskId } = await express.submit({
        type: 'reasoning',
        payload: { idea: `breakout above the channel ${randomUUID()}`, symbol: 'DEMO' },
      });
      await llm.arrived;
      expect((await express.get(taskId))?.status).toBe('running');

      worker.child.kill('SIGTERM');
      await untilLogged(worker, /stopping/);
      llm.release();
      expect(await worker.exited).toBe(0);
      const info = await express.get(taskId);
      expect(info).toMatchObject({ status: 'succeeded', attempts: 1 });
    } finally {
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      await express.close();
      await llm.stop();
    }
  });
});

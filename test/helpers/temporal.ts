/**
 * Test access to the run's shared Temporal dev server (started in global-setup.ts). Each test file uses its own
 * task queue; `closeAll` in `afterAll` shuts down what the helpers opened so Jest exits on its own.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';

let runtimeQuiet = false;
function quietRuntime() {
  if (runtimeQuiet) return;
  runtimeQuiet = true;
  try {
    Runtime.install({
      logger: {
        log: () => undefined,
        trace: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: (m: string) => console.error(m),
      } as never,
    });
  } catch {
    // Already installed by an earlier helper call in this process.
  }
}

export function temporalAddress(): string {
  const address = process.env.SAGALANE_TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error('SAGALANE_TEST_TEMPORAL_ADDRESS is unset: run tests through jest (global-setup.ts)');
  return address;
}

export function workflowBundlePath(): string {
  const p = process.env.SAGALANE_TEST_WORKFLOW_BUNDLE;
  if (!p) throw new Error('SAGALANE_TEST_WORKFLOW_BUNDLE is unset: run tests through jest (global-setup.ts)');
  return p;
}

export function uniqueTaskQueue(name: string): string {
  return `test-${name}-${randomUUID().slice(0, 8)}`;
}

export interface TemporalTestContext {
  client: Client;
  connection: Connection;
  /** Starts a worker on `taskQueue` with the prebuilt test bundle; it runs until `closeAll`. */
  startWorker(opts: Pick<WorkerOptions, 'taskQueue'> & Partial<WorkerOptions>): Promise<Worker>;
  closeAll(): Promise<void>;
}

export async function temporalTestContext(): Promise<TemporalTestContext> {
  quietRuntime();
  const connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection });
  const workers: { worker: Worker; running: Promise<void>; native: NativeConnection }[] = [];
  return {
    client,
    connection,
    async startWorker(opts) {
      const native = await NativeConnection.connect({ address: temporalAddress() });
      const worker = await Worker.create({
        connection: native,
        workflowBundle: { codePath: workflowBundlePath() },
        ...opts,
      });
      const running = worker.run();
      workers.push({ worker, running, native });
      return worker;
    },
    async closeAll() {
      for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
      await Promise.allSettled(workers.map((w) => w.running));
      await Promise.allSettled(workers.map((w) => w.native.close()));
      await connection.close();
    },
  };
}

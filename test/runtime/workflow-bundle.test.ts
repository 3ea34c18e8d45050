/**
 * SAGALANE_WORKFLOW_BUNDLE names a bundle file the saga worker loads; a path that does not exist stops the worker
 * before it connects, with a message naming the variable and how to build one. (The happy path, a worker process
 * running sagas from a bundle written by `writeWorkflowBundle`, is in worker-shutdown.test.ts.)
 */
import path from 'node:path';
import os from 'node:os';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { SagaWorkerSetupError, startSagaWorker } from '../../src/runtime/saga-worker';

describe('SAGALANE_WORKFLOW_BUNDLE', () => {
  it('is read into the config as an absolute path, and a missing file is refused at start with the variable named', async () => {
    const missing = path.join(os.tmpdir(), `no-such-bundle-${process.pid}.js`);
    const config = loadConfig({ SAGALANE_WORKFLOW_BUNDLE: path.relative(process.cwd(), missing) });
    expect(config.workflowBundlePath).toBe(missing);
    const started = startSagaWorker({ config, address: '127.0.0.1:1', logger: createLogger('silent') });
    await expect(started).rejects.toBeInstanceOf(SagaWorkerSetupError);
    await expect(started).rejects.toThrow(
      `the workflow bundle ${missing} does not exist (SAGALANE_WORKFLOW_BUNDLE): build it with \`npm run bundle:workflows -- <path>\``,
    );
  });

  it('defaults the shutdown grace time to 30 s', () => {
    expect(loadConfig({}).shutdownGraceMs).toBe(30_000);
    expect(() => loadConfig({ SAGALANE_SHUTDOWN_GRACE_MS: '-1' })).toThrow('SAGALANE_SHUTDOWN_GRACE_MS');
  });
});

/**
 * One Temporal dev server and one prebuilt workflow bundle for the whole run, plus a Redis that answers.
 * With SAGALANE_TEST_TEMPORAL=postgres (jest.postgres.config.js) the server is a real Temporal server on PostgreSQL
 * (test/helpers/temporal-postgres.ts) instead. Test files read the address from the environment
 * (`SAGALANE_TEST_TEMPORAL_ADDRESS`), use their own task queues and Redis key prefixes, and close what they open.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { cacheDir } from '../src/dev/temporal-cli';
import { startTemporalDevServer } from '../src/dev/temporal-server';
import { ensureRedis, type RedisHandle } from '../src/dev/redis-server';
import { startTestTemporalOnPostgres } from './helpers/temporal-postgres';

declare global {
  var __SAGALANE_TEST_STACK__:
    { temporal: { address: string; stop(): Promise<void> }; redis: RedisHandle } | undefined;
}

export const ARTIFACTS_DIR = path.resolve(__dirname, '..', '.test-artifacts');

export default async function globalSetup(): Promise<void> {
  const log = (l: string) => process.stderr.write(l + '\n');
  // Tools `npm test`'s set-up step built without root (a go-installed promtool) live in the per-user cache.
  if (!(process.env.PATH ?? '').split(path.delimiter).includes(cacheDir()))
    process.env.PATH = [process.env.PATH, cacheDir()].filter(Boolean).join(path.delimiter);
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = await ensureRedis(redisUrl, path.join(ARTIFACTS_DIR, 'data'), log);
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const temporal =
    process.env.SAGALANE_TEST_TEMPORAL === 'postgres'
      ? await startTestTemporalOnPostgres({ stateDir: path.join(ARTIFACTS_DIR, 'temporal-postgres'), log })
      : await startTemporalDevServer({ log });
  // Bundling takes seconds; doing it once here keeps each test's worker start fast.
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./fixtures/workflows'),
    // The saga's step-attempt interceptor, as the shipped saga worker bundles it (src/workflows/step-attempts.ts).
    workflowInterceptorModules: [require.resolve('../src/workflows/step-attempts')],
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: log,
      error: log,
    } as never,
  });
  const bundlePath = path.join(ARTIFACTS_DIR, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);
  process.env.SAGALANE_TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.SAGALANE_TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.REDIS_URL = redisUrl;
  // Processes the tests spawn must not all bind the Temporal SDK metrics port 9465.
  process.env.SAGALANE_TEMPORAL_METRICS_PORT ??= 'off';
  globalThis.__SAGALANE_TEST_STACK__ = { temporal, redis };
}

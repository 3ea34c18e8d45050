/**
 * Process entry point: an express worker serving the built-in and agent task types plus `/metrics` (with per-stream
 * backlog gauges), `/healthz` and `/readyz` (Redis), the process `npx sagalane worker express` runs
 * (./run-workers.ts). `tsx src/workers/express-worker.ts`; SIGTERM/SIGINT drain in-flight tasks and exit 0. No
 * Temporal needed. The in-process API is `startExpressWorker` (src/runtime/express-worker.ts, exported from
 * `sagalane`).
 */
import { loadConfigOrExit } from '../config';
import { createLogger } from '../logger';
import { runWorkers } from './run-workers';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel).child({ process: 'express-worker' });
  await runWorkers('express', config, {
    // Temporal only for lane-dispatched saga steps (TEMPORAL_ADDRESS); the express lane itself needs only Redis.
    temporalAddress: config.temporal.address ?? '',
    log: (line: string) => logger.info(line.replace(/^\[sagalane\] /, '')),
  });
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`express worker failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

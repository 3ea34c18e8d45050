/**
 * Process entry point: an express worker serving the built-in and agent task types plus `/metrics` (with per-stream
 * backlog gauges), `/healthz` and `/readyz` (Redis), the same process as `npx sagalane worker express`.
 * `tsx src/workers/express-worker.ts`; SIGTERM/SIGINT drain in-flight tasks and exit 0. No Temporal needed.
 *
 * The in-process API (`startExpressWorker`) lives in src/runtime/express-worker.ts; it is re-exported here so code
 * that imported it from this path keeps working.
 */
import { boardAddOn } from '../board/board-add-on';
import { loadConfigOrExit } from '../config';
import { createLogger } from '../logger';
import { workerComponents } from '../runtime/components';
import { runComponents } from '../runtime/run-components';

export * from '../runtime/express-worker';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel).child({ process: 'express-worker' });
  await runComponents(config, workerComponents('express', boardAddOn()), {
    // Temporal only for lane-dispatched saga steps (TEMPORAL_ADDRESS); the express lane itself needs only Redis.
    temporalAddress: config.temporal.address ?? '',
    service: 'express-worker',
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

/**
 * Process entry point: the saga worker plus `/metrics` `/healthz` `/readyz` and the SDK metrics, the process
 * `npx sagalane worker saga` runs (./run-workers.ts). `tsx src/workers/saga-worker.ts [--address host:port]`
 * (TEMPORAL_ADDRESS or `--address` required); SIGTERM/SIGINT stop polling, let running activities finish within the
 * shutdown grace time, and exit 0. The in-process API is `startSagaWorker` (src/runtime/saga-worker.ts, exported
 * from `sagalane`).
 */
import { loadConfigOrExit } from '../config';
import { createLogger } from '../logger';
import { runWorkers } from './run-workers';

async function main(argv: string[]): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel, { component: 'saga-worker' });
  const addressFlag = argv.indexOf('--address');
  const address = addressFlag >= 0 ? argv[addressFlag + 1] : config.temporal.address;
  if (!address) {
    process.stderr.write('saga-worker: set TEMPORAL_ADDRESS or pass --address host:port\n');
    process.exit(2);
  }
  await runWorkers('saga', config, {
    temporalAddress: address,
    log: (line: string) => logger.info(line.replace(/^\[sagalane\] /, '')),
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`saga-worker failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

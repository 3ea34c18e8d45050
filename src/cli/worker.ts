/** `sagalane worker [saga|express|all]`: worker processes against an existing Temporal and Redis. */
import { Argument, Command } from 'commander';
import { clientTemporalAddress } from '../client/front-door';
import { loadConfigOrExit } from '../config';
import { runWorkers, type WorkerKind } from '../workers/run-workers';

export function workerCommand(): Command {
  return new Command('worker')
    .description(
      'Run workers against TEMPORAL_ADDRESS and REDIS_URL, with /metrics /healthz /readyz on the metrics port',
    )
    .addArgument(new Argument('[kind]', 'which workers').choices(['saga', 'express', 'all']).default('all'))
    .action(async (kind: WorkerKind) => {
      const config = loadConfigOrExit();
      await runWorkers(kind, config, {
        // An express-only worker does not need Temporal at all.
        temporalAddress: kind === 'express' ? '' : clientTemporalAddress(config),
      });
    });
}

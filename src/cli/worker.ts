/** `sagalane worker [saga|express|all]`: worker processes against an existing Temporal and Redis. */
import { boardAddOn } from '../board/board-add-on';
import { Argument, Command } from 'commander';
import { clientTemporalAddress } from '../client/front-door';
import { loadConfigOrExit } from '../config';
import { workerComponents, type WorkerKind } from '../runtime/components';
import { runComponents } from '../runtime/run-components';

export function workerCommand(): Command {
  return new Command('worker')
    .description(
      'Run workers against TEMPORAL_ADDRESS and REDIS_URL, with /metrics /healthz /readyz on the metrics port',
    )
    .addArgument(new Argument('[kind]', 'which workers').choices(['saga', 'express', 'all']).default('all'))
    .action(async (kind: WorkerKind) => {
      const config = loadConfigOrExit();
      await runComponents(config, workerComponents(kind, boardAddOn()), {
        // An express-only worker does not need Temporal at all.
        temporalAddress: kind === 'express' ? '' : clientTemporalAddress(config),
        service: `${kind}-worker`,
      });
    });
}

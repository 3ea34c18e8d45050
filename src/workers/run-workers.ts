/**
 * The worker processes: what `sagalane worker saga|express|all` and `tsx src/workers/{saga,express}-worker.ts` run.
 * The saga worker, the express worker or both, with the board and `/metrics` `/healthz` `/readyz` on the metrics
 * port, until SIGTERM / SIGINT (running work drains, then the process exits 0). The in-process APIs these processes
 * are built on are `startSagaWorker` and `startExpressWorker` (src/runtime, exported from `sagalane`).
 */
import { boardAddOn } from '../board/board-add-on';
import type { Config } from '../config';
import { workerComponents, type WorkerKind } from '../runtime/components';
import { runComponents } from '../runtime/run-components';

export type { WorkerKind };

export interface RunWorkersOptions {
  /** Temporal frontend; empty for an express worker without lane-dispatched saga steps. */
  temporalAddress: string;
  /** @defaultValue lines on stderr */
  log?: (line: string) => void;
}

/** Runs the `kind` workers of `config` until the process is told to stop. */
export async function runWorkers(kind: WorkerKind, config: Config, opts: RunWorkersOptions): Promise<void> {
  await runComponents(config, workerComponents(kind, boardAddOn()), {
    temporalAddress: opts.temporalAddress,
    service: `${kind}-worker`,
    log: opts.log,
  });
}

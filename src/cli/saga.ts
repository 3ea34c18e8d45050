/**
 * `sagalane saga get|list|cancel|approve|reject|history`: read, cancel and answer sagas. Needs Temporal only
 * (`get --plot` also reads the backtest report from Redis).
 */
import fs from 'node:fs/promises';
import { Command, Option } from 'commander';
import { openRedis } from '../lane/redis-connections';
import { readBacktestReport, renderEquityCurveSvg } from '../activities/equity-plot';
import { loadConfigOrExit } from '../config';
import { SAGA_STATES, type SagaStateName } from '../workflows/pipeline-contract';
import { parsePositiveInt, withJson, withSagas } from './context';
import { formatHistory, formatSaga, formatSagaList, print, type OutputOptions } from './output';

interface PageOptions {
  pageSize?: number;
  nextPageToken?: string;
}

export function sagaCommand(): Command {
  const saga = new Command('saga').description('Inspect, cancel and approve sagas');
  withJson(
    saga
      .command('get <sagaId>')
      .description("A saga's state: current step, finished steps, compensations, error, result")
      .option('--run-id <runId>', 'a specific run (default: the latest)')
      .option('--plot <file>', "also write the backtest's equity curve vs buy and hold as an SVG picture"),
  ).action((sagaId: string, opts: OutputOptions & { runId?: string; plot?: string }) =>
    withSagas(async (sagas) => {
      const state = await sagas.getState(sagaId, { runId: opts.runId });
      print(opts, state, () => formatSaga(state));
      if (opts.plot) await writePlot(sagaId, opts.plot, opts.json === true);
    }),
  );
  withJson(
    saga
      .command('list')
      .description('List research pipelines, newest first')
      .addOption(new Option('--state <state>', 'only sagas in this state').choices([...SAGA_STATES]))
      .option('--query <visibility query>', 'extra Temporal visibility filter')
      .option('--page-size <n>', 'sagas per page (default 20)', parsePositiveInt)
      .option('--next-page-token <token>', 'the token printed with the previous page'),
  ).action((opts: OutputOptions & PageOptions & { state?: SagaStateName; query?: string }) =>
    withSagas(async (sagas) => {
      const page = await sagas.list(opts);
      print(opts, page, () => formatSagaList(page));
    }),
  );
  withJson(
    saga
      .command('cancel <sagaId>')
      .description('Cancel a running saga: it stops the current step and rolls back')
      .option('--reason <text>', 'why (recorded in the saga)', 'cancelled from the CLI'),
  ).action((sagaId: string, opts: OutputOptions & { reason: string }) =>
    withSagas(async (sagas) => {
      const outcome = await sagas.cancel(sagaId, opts.reason);
      print(
        opts,
        { sagaId, ...outcome },
        () => `Cancel accepted for ${sagaId} (was ${outcome.state}); rolling back.`,
      );
    }),
  );
  withJson(
    saga
      .command('approve <sagaId>')
      .description('Approve the approval the saga is waiting for (state awaiting_approval); it goes on')
      .option('--approver <name>', 'who approves (recorded in the saga)')
      .option('--comment <text>', 'a comment (recorded in the saga)'),
  ).action((sagaId: string, opts: OutputOptions & { approver?: string; comment?: string }) =>
    withSagas(async (sagas) => {
      const state = await sagas.approve(sagaId, { approver: opts.approver, comment: opts.comment });
      print(opts, state, () => `Approved ${sagaId}; now ${state.state}.`);
    }),
  );
  withJson(
    saga
      .command('reject <sagaId>')
      .description('Reject the approval the saga is waiting for; it rolls back')
      .option('--reason <text>', 'why (recorded as the saga error)')
      .option('--approver <name>', 'who rejects (recorded in the saga)'),
  ).action((sagaId: string, opts: OutputOptions & { reason?: string; approver?: string }) =>
    withSagas(async (sagas) => {
      const state = await sagas.reject(sagaId, { reason: opts.reason, approver: opts.approver });
      print(opts, state, () => `Rejected ${sagaId}; rolling back (now ${state.state}).`);
    }),
  );
  withJson(
    saga
      .command('history <sagaId>')
      .description("A page of the saga's event history")
      .option('--run-id <runId>', 'a specific run')
      .option('--page-size <n>', 'events per page (default 50)', parsePositiveInt)
      .option('--next-page-token <token>', 'the token printed with the previous page')
      .option('--payloads', 'include decoded inputs and results (size-bounded)'),
  ).action((sagaId: string, opts: OutputOptions & PageOptions & { runId?: string; payloads?: boolean }) =>
    withSagas(async (sagas) => {
      const page = await sagas.history(sagaId, { ...opts, includePayloads: opts.payloads });
      print(opts, page, () => formatHistory(page));
    }),
  );
  return saga;
}

/** The report artifact lives in Redis: the plot opens a connection of its own, only when asked for. */
async function writePlot(sagaId: string, file: string, json: boolean): Promise<void> {
  const config = loadConfigOrExit();
  const redis = openRedis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    const report = await readBacktestReport({ redis, keyPrefix: config.keyPrefix }, sagaId);
    await fs.writeFile(file, renderEquityCurveSvg(report));
    if (!json) process.stdout.write(`Wrote the equity curve of ${sagaId} to ${file}\n`);
  } finally {
    redis.disconnect();
  }
}

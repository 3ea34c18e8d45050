/** `sagalane saga get|list|cancel|history`: read and cancel sagas. Needs Temporal only. */
import { Command, Option } from 'commander';
import { SAGA_STATES, type SagaStateName } from '../workflows/pipeline-contract';
import { parsePositiveInt, withJson, withSagas } from './context';
import { formatHistory, formatSaga, formatSagaList, print, type OutputOptions } from './output';

interface PageOptions {
  pageSize?: number;
  nextPageToken?: string;
}

export function sagaCommand(): Command {
  const saga = new Command('saga').description('Inspect and cancel sagas');
  withJson(
    saga
      .command('get <sagaId>')
      .description("A saga's state: current step, finished steps, compensations, error, result")
      .option('--run-id <runId>', 'a specific run (default: the latest)'),
  ).action((sagaId: string, opts: OutputOptions & { runId?: string }) =>
    withSagas(async (sagas) => {
      const state = await sagas.getState(sagaId, { runId: opts.runId });
      print(opts, state, () => formatSaga(state));
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

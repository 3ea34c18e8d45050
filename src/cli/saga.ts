/**
 * `sagalane saga types|start|get|list|cancel|approve|reject|history`: start any catalog saga, read, cancel and answer
 * sagas. `types` needs nothing running; the others need Temporal only (`get --plot` also reads the backtest report
 * from Redis). The catalog is SAGALANE_SAGAS's, or the built-in one (the research pipeline).
 */
import fs from 'node:fs/promises';
import { Command, Option } from 'commander';
import { openRedis } from '../lane/redis-connections';
import { readBacktestReport, renderEquityCurveSvg } from '../activities/research/equity-plot';
import { loadConfigOrExit } from '../config';
import { loadSagaModule } from '../catalog/saga-module';
import { SAGA_PRIORITIES, type SagaPriority } from '../dispatch/lane-step';
import { CommandOutcomeError, parseJson, parsePositiveInt, withJson, withSagas } from './context';
import {
  formatHistory,
  formatSaga,
  formatSagaList,
  print,
  sagaFailureText,
  type OutputOptions,
} from './output';
import { waitForSaga } from './pipeline';

interface PageOptions {
  pageSize?: number;
  nextPageToken?: string;
}

export function sagaCommand(): Command {
  const saga = new Command('saga').description('Start, inspect, cancel and approve sagas');
  withJson(
    saga.command('types').description('The saga types you can start: description, steps, input JSON Schema'),
  ).action((opts: OutputOptions) => {
    const described = loadSagaModule(loadConfigOrExit().sagasModule).catalog.describe();
    print(opts, described, () =>
      described
        .map((t) =>
          [
            `${t.type} (MCP tool ${t.tool})`,
            `  ${t.description}`,
            `  steps: ${t.steps.map((s) => `${s.name}${s.lane === 'express' ? ' [express]' : ''}`).join(' → ')}`,
            ...(t.approvals.length ? [`  approvals: ${t.approvals.join(', ')}`] : []),
            `  input: ${JSON.stringify(t.inputSchema)}`,
          ].join('\n'),
        )
        .join('\n\n'),
    );
  });
  withJson(
    saga
      .command('start <type>')
      .description('Start a saga of the catalog (`saga types` lists them) with its input as JSON')
      .option('--input <json>', 'the saga input, a JSON object', parseJson)
      .option('--input-file <file>', 'read the input from a JSON file')
      .option('--id <workflowId>', 'saga id (starting again with a running id returns that saga)')
      .addOption(
        new Option(
          '--priority <lane>',
          "run the saga's steps on this lane (default: from its input)",
        ).choices([...SAGA_PRIORITIES]),
      )
      .option('--wait', 'wait until the saga finishes, showing progress on stderr'),
  ).action(async (type: string, opts: StartSagaOptions) => {
    // Type and input are checked before any connection is made.
    const catalog = loadSagaModule(loadConfigOrExit().sagasModule).catalog;
    const input = catalog.parseInput(type, await readInput(opts));
    await withSagas(async (sagas) => {
      const started = await sagas.start(type, input, {
        ...(opts.id !== undefined ? { workflowId: opts.id } : {}),
        ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      });
      if (!opts.wait) {
        const state = await sagas.getState<unknown, string>(started.sagaId).catch(() => undefined);
        print(opts, state ?? started, () => `Started ${type} saga ${started.sagaId} (run ${started.runId})`);
        return;
      }
      if (!opts.json) process.stderr.write(`Started ${type} saga ${started.sagaId}\n`);
      const final = await waitForSaga(started.sagaId, (id) => sagas.getState<unknown, string>(id));
      print(opts, final, () => formatSaga(final));
      if (final.state !== 'completed') throw new CommandOutcomeError(sagaFailureText(final));
    });
  });
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
      .description('List sagas of a type, newest first')
      .option('--type <type>', 'the saga type (default researchPipeline)')
      .option('--state <state>', 'only sagas in this state (a lifecycle state or a step name)')
      .option('--query <visibility query>', 'extra Temporal visibility filter')
      .option('--page-size <n>', 'sagas per page (default 20)', parsePositiveInt)
      .option('--next-page-token <token>', 'the token printed with the previous page'),
  ).action((opts: OutputOptions & PageOptions & { type?: string; state?: string; query?: string }) =>
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

interface StartSagaOptions extends OutputOptions {
  input?: unknown;
  inputFile?: string;
  id?: string;
  priority?: SagaPriority;
  wait?: boolean;
}

/** `--input` or `--input-file`, exactly one. */
async function readInput(opts: StartSagaOptions): Promise<unknown> {
  if ((opts.input === undefined) === (opts.inputFile === undefined))
    throw new Error('give the saga input with exactly one of --input <json> and --input-file <file>');
  if (opts.input !== undefined) return opts.input;
  const text = await fs.readFile(opts.inputFile!, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`--input-file ${opts.inputFile}: not JSON (${(err as Error).message})`);
  }
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

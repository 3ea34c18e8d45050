/** `sagalane pipeline start`: start a research pipeline (a saga on Temporal), optionally waiting for its end. */
import { Command } from 'commander';
import { parsePipelineInput } from '../client/saga-client';
import { TERMINAL_SAGA_STATES } from '../workflows/research/pipeline-contract';
import { type SagaStateView } from '../workflows/saga-contract';
import { CommandOutcomeError, dropUndefined, parsePositiveInt, withJson, withSagas } from './context';
import { formatSaga, print, sagaFailureText, type OutputOptions } from './output';

interface StartOptions extends OutputOptions {
  idea: string;
  symbol: string;
  dataset?: string;
  id?: string;
  timeoutMs?: number;
  priority?: string;
  strict?: boolean;
  wait?: boolean;
}

export function pipelineCommand(): Command {
  const pipeline = new Command('pipeline').description('Research pipelines (sagas)');
  withJson(
    pipeline
      .command('start')
      .description('Start a research pipeline: idea + symbol → plan → code → fitted params → backtest')
      .requiredOption('--idea <text>', 'the trading idea to research')
      .requiredOption('--symbol <sym>', 'market symbol, e.g. DEMO')
      .option('--dataset <path>', 'data set name in data/ or path to an OHLCV CSV (default: the symbol’s)')
      .option('--id <workflowId>', 'saga id (starting again with a running id returns that saga)')
      .option('--timeout-ms <ms>', 'saga timeout', parsePositiveInt)
      .option(
        '--priority <lane>',
        'express | standard: the lane its steps run on (default standard; compensations always express)',
      )
      .option('--strict', 'refuse an idea the planner cannot map instead of assuming a default family')
      .option('--wait', 'wait until the saga finishes, showing progress on stderr'),
  ).action(async (opts: StartOptions) => {
    // Bad input is reported before any connection is made.
    const input = parsePipelineInput(
      dropUndefined({
        idea: opts.idea,
        symbol: opts.symbol,
        dataset: opts.dataset,
        timeoutMs: opts.timeoutMs,
        priority: opts.priority,
        strict: opts.strict,
      }),
    );
    await withSagas(async (sagas) => {
      const started = await sagas.startPipeline(input, { workflowId: opts.id });
      if (!opts.wait) {
        const state = await sagas.getState(started.sagaId).catch(() => undefined);
        print(opts, state ?? started, () => `Started saga ${started.sagaId} (run ${started.runId})`);
        return;
      }
      if (!opts.json) process.stderr.write(`Started saga ${started.sagaId}\n`);
      const final = await waitForSaga(started.sagaId, (id) => sagas.getState(id));
      print(opts, final, () => formatSaga(final));
      if (final.state !== 'completed') throw new CommandOutcomeError(sagaFailureText(final));
    });
  });
  return pipeline;
}

/** Polls the saga's state until it is final, showing the step and elapsed time on stderr. */
export async function waitForSaga<S extends SagaStateView<unknown, string>>(
  sagaId: string,
  getState: (id: string) => Promise<S>,
  intervalMs = 300,
): Promise<S> {
  const started = Date.now();
  const tty = process.stderr.isTTY === true;
  let lastLine = '';
  for (;;) {
    const state = await getState(sagaId);
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    const line = `${sagaId}: ${state.state}${state.currentStep ? ` (step ${state.currentStep})` : ''}`;
    if (tty) process.stderr.write(`\r\x1b[K${line}  ${elapsed}s`);
    else if (line !== lastLine) process.stderr.write(`${line}  ${elapsed}s\n`);
    lastLine = line;
    if ((TERMINAL_SAGA_STATES as readonly string[]).includes(state.state)) {
      if (tty) process.stderr.write('\n');
      return state;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

#!/usr/bin/env node
/**
 * The `sagalane` command line. Each command is a thin layer over the typed clients and process entry points.
 *
 * Output: with `--json` a command prints exactly one JSON document on stdout (a saga prints its `state` query's
 * shape); without it, readable text. Progress and logs go to stderr. A failure exits non-zero with the reason on
 * stderr. Commands close their connections, so the process ends on its own.
 */
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { loadConfigOrExit, type Config } from './config';
import { parsePipelineInput } from './client/saga-client';
import { clientTemporalAddress, openLazyFrontDoor } from './client/front-door';
import type { SagaClient } from './client/saga-client';
import type { ExpressClient } from './lane/express-client';
import { devStackComponents, runDevStack } from './dev/local-stack';
import { mcpHttpComponent } from './mcp/http-component';
import { metricsComponent, workerComponents } from './runtime/components';
import { runComponents } from './runtime/run-components';
import { untilSignalled } from './runtime/signals';
import { createMcpServer } from './mcp/server';
import { serveMcpOverStdio } from './mcp/stdio';
import { LANES } from './lane/keys';
import type { TaskInfo } from './lane/express-client';
import { TaskNotFoundError } from './lane/errors';
import { TERMINAL_SAGA_STATES, SAGA_STATES, type SagaStateView } from './workflows/pipeline-contract';

/** A command that ran but whose outcome is a failure (saga rolled back, task dead): exit 1 after printing. */
export class CommandOutcomeError extends Error {
  override readonly name = 'CommandOutcomeError';
}

interface OutputOptions {
  json?: boolean;
}

export function buildCli(): Command {
  const program = new Command('sagalane')
    .description('Durable multi-agent sagas on Temporal, a Redis Streams express lane, and an MCP bridge.')
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('dev')
    .description(
      'Run the whole local stack: Temporal dev server (with UI), Redis, saga and express workers, MCP endpoint, metrics',
    )
    .action(async () => {
      const config = loadConfigOrExit();
      await runDevStack(config, { components: devStackComponents() });
    });

  program
    .command('worker')
    .description(
      'Run workers against TEMPORAL_ADDRESS and REDIS_URL, with /metrics /healthz /readyz on the metrics port',
    )
    .addArgument(new Argument('[kind]', 'which workers').choices(['saga', 'express', 'all']).default('all'))
    .action(async (kind: 'saga' | 'express' | 'all') => {
      const config = loadConfigOrExit();
      await runComponents(config, workerComponents(kind), {
        // An express-only worker does not need Temporal at all.
        temporalAddress: kind === 'express' ? '' : clientTemporalAddress(config),
        service: `${kind}-worker`,
      });
    });

  program
    .command('mcp')
    .description('Serve the MCP bridge: on stdio (default) or Streamable HTTP at /mcp with --http')
    .option(
      '--http [port]',
      'serve Streamable HTTP on this port (default SAGALANE_MCP_PORT, 7300)',
      parsePort,
    )
    .option('--read-only', 'expose only the read tools (no start, cancel or submit)')
    .action(async (opts: { http?: number | true; readOnly?: boolean }) => {
      const config = loadConfigOrExit();
      if (opts.http !== undefined) {
        await runComponents(
          config,
          [
            mcpHttpComponent({ readOnly: opts.readOnly, port: opts.http === true ? undefined : opts.http }),
            metricsComponent(),
          ],
          { temporalAddress: clientTemporalAddress(config), service: 'mcp' },
        );
        return;
      }
      await serveStdio(config, opts.readOnly ?? false);
    });

  const pipeline = program.command('pipeline').description('Research pipelines (sagas)');
  withJson(
    pipeline
      .command('start')
      .description('Start a research pipeline: idea + symbol → plan → code → fitted params → backtest')
      .requiredOption('--idea <text>', 'the trading idea to research')
      .requiredOption('--symbol <sym>', 'market symbol, e.g. DEMO')
      .option('--dataset <path>', 'data set name in data/ or path to an OHLCV CSV (default: the symbol’s)')
      .option('--id <workflowId>', 'saga id (starting again with a running id returns that saga)')
      .option('--timeout-ms <ms>', 'saga timeout', parsePositiveInt)
      .option('--wait', 'wait until the saga finishes, showing progress on stderr'),
  ).action(
    async (
      opts: OutputOptions & {
        idea: string;
        symbol: string;
        dataset?: string;
        id?: string;
        timeoutMs?: number;
        wait?: boolean;
      },
    ) => {
      // Bad input is reported before any connection is made.
      const input = parsePipelineInput(
        dropUndefined({
          idea: opts.idea,
          symbol: opts.symbol,
          dataset: opts.dataset,
          timeoutMs: opts.timeoutMs,
        }),
      );
      return withSagas(async (sagas) => {
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
    },
  );

  const saga = program.command('saga').description('Inspect and cancel sagas');
  withJson(
    saga
      .command('get <sagaId>')
      .description("A saga's state: current step, finished steps, compensations, error, result")
      .option('--run-id <runId>', 'a specific run (default: the latest)'),
  ).action(async (sagaId: string, opts: OutputOptions & { runId?: string }) =>
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
  ).action(
    async (
      opts: OutputOptions & {
        state?: (typeof SAGA_STATES)[number];
        query?: string;
        pageSize?: number;
        nextPageToken?: string;
      },
    ) =>
      withSagas(async (sagas) => {
        const page = await sagas.list(opts);
        print(opts, page, () => {
          if (page.items.length === 0) return 'No sagas found.';
          const lines = page.items.map(
            (s) =>
              `${s.sagaId}  ${(s.state ?? s.status).padEnd(12)} ${s.startTime}${s.idea ? `  ${truncate(s.idea, 50)}` : ''}`,
          );
          if (page.nextPageToken) lines.push(`More: --next-page-token ${page.nextPageToken}`);
          return lines.join('\n');
        });
      }),
  );
  withJson(
    saga
      .command('cancel <sagaId>')
      .description('Cancel a running saga: it stops the current step and rolls back')
      .option('--reason <text>', 'why (recorded in the saga)', 'cancelled from the CLI'),
  ).action(async (sagaId: string, opts: OutputOptions & { reason: string }) =>
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
  ).action(
    async (
      sagaId: string,
      opts: OutputOptions & { runId?: string; pageSize?: number; nextPageToken?: string; payloads?: boolean },
    ) =>
      withSagas(async (sagas) => {
        const page = await sagas.history(sagaId, { ...opts, includePayloads: opts.payloads });
        print(opts, page, () => {
          const lines = page.items.map(
            (e) =>
              `${String(e.eventId).padStart(4)}  ${e.time}  ${e.type}` +
              (e.activityType ? ` ${e.activityType}` : '') +
              (e.name ? ` ${e.name}` : '') +
              (e.searchAttributes ? ` ${JSON.stringify(e.searchAttributes)}` : '') +
              (e.failure ? `  failure: ${e.failure}` : '') +
              (e.payloads ? `\n        ${JSON.stringify(e.payloads)}` : ''),
          );
          if (page.nextPageToken) lines.push(`More: --next-page-token ${page.nextPageToken}`);
          return lines.join('\n');
        });
      }),
  );

  const task = program.command('task').description('Express-lane tasks');
  withJson(
    task
      .command('submit')
      .description('Submit a task to the express lane')
      .requiredOption('--type <type>', 'task type, e.g. echo, hash, reasoning, backtest, research')
      .addOption(new Option('--lane <lane>', 'lane (default: the type’s)').choices([...LANES]))
      .requiredOption('--payload <json>', 'the task input as JSON', parseJson)
      .option('--idempotency-key <key>', 'repeat-safe submit: the same key returns the first task')
      .option('--wait', 'wait for the result')
      .option('--wait-ms <ms>', 'how long --wait waits (default 60000)', parsePositiveInt),
  ).action(
    async (
      opts: OutputOptions & {
        type: string;
        lane?: (typeof LANES)[number];
        payload: unknown;
        idempotencyKey?: string;
        wait?: boolean;
        waitMs?: number;
      },
    ) =>
      withExpress(async (express) => {
        const { taskId } = await express.submit({
          type: opts.type,
          lane: opts.lane,
          payload: opts.payload,
          idempotencyKey: opts.idempotencyKey,
        });
        if (!opts.wait) {
          const info = await express.get(taskId);
          print(opts, info ?? { taskId }, () => `Submitted task ${taskId}`);
          return;
        }
        if (!opts.json) process.stderr.write(`Submitted task ${taskId}; waiting...\n`);
        const info = await express.result(taskId, { waitMs: opts.waitMs ?? 60_000 });
        print(opts, info, () => formatTask(info));
        if (info.status !== 'succeeded')
          throw new CommandOutcomeError(`task ${taskId} is ${info.status}: ${info.error}`);
      }),
  );
  withJson(task.command('get <taskId>').description("A task's status, attempts, result or error")).action(
    async (taskId: string, opts: OutputOptions) =>
      withExpress(async (express) => {
        const info = await express.get(taskId);
        if (!info) throw new TaskNotFoundError(taskId);
        print(opts, info, () => formatTask(info));
      }),
  );

  const lane = program.command('lane').description('The express lane');
  withJson(
    lane
      .command('stats')
      .description('Backlog, in flight, consumers, retries and dead letters per type and lane'),
  ).action(async (opts: OutputOptions) =>
    withExpress(async (express) => {
      const stats = await express.stats();
      print(opts, stats, () => {
        const header = 'type          lane      length  pending  lag  consumers  delayed  dead';
        const rows = stats.map(
          (s) =>
            `${s.type.padEnd(13)} ${s.lane.padEnd(9)} ${String(s.length).padStart(6)} ${String(s.pending).padStart(8)} ` +
            `${String(s.lag).padStart(4)} ${String(s.consumers).padStart(10)} ${String(s.delayed).padStart(8)} ${String(s.deadLetters).padStart(5)}`,
        );
        return [header, ...rows].join('\n');
      });
    }),
  );

  return program;
}

function withJson(cmd: Command): Command {
  return cmd.option('--json', 'print one JSON document instead of text');
}

/** Opens only the saga client (Temporal), runs the command, and closes it whatever happens. */
async function withSagas(body: (sagas: SagaClient) => Promise<void>): Promise<void> {
  const door = openLazyFrontDoor(loadConfigOrExit());
  try {
    await body(await door.sagas());
  } finally {
    await door.close();
  }
}

/** Opens only the express client (Redis), runs the command, and closes it whatever happens. */
async function withExpress(body: (express: ExpressClient) => Promise<void>): Promise<void> {
  const door = openLazyFrontDoor(loadConfigOrExit());
  try {
    await body(await door.express());
  } finally {
    await door.close();
  }
}

async function serveStdio(config: Config, readOnly: boolean): Promise<void> {
  const door = openLazyFrontDoor(config);
  try {
    const server = createMcpServer({ sagas: await door.sagas(), express: await door.express(), readOnly });
    await serveMcpOverStdio(server, { until: untilSignalled() });
  } finally {
    await door.close();
  }
}

/** Polls the saga's state until it is final, showing the step and elapsed time on stderr. */
async function waitForSaga(
  sagaId: string,
  getState: (id: string) => Promise<SagaStateView>,
  intervalMs = 300,
): Promise<SagaStateView> {
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
    if (TERMINAL_SAGA_STATES.includes(state.state)) {
      if (tty) process.stderr.write('\n');
      return state;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function print(opts: OutputOptions, value: unknown, text: () => string): void {
  process.stdout.write((opts.json ? JSON.stringify(value, null, 2) : text()) + '\n');
}

function formatSaga(s: SagaStateView): string {
  const lines = [`Saga ${s.sagaId} (${s.workflowType}, run ${s.runId})`, `  state: ${s.state}`];
  if (s.currentStep) lines.push(`  current step: ${s.currentStep}`);
  for (const step of s.steps) {
    const ms = step.finishedAt ? Date.parse(step.finishedAt) - Date.parse(step.startedAt) : undefined;
    lines.push(
      `  step ${step.name.padEnd(10)} ${step.status.padEnd(9)} attempts ${step.attempts}${ms !== undefined ? `  ${ms} ms` : ''}`,
    );
  }
  for (const c of s.compensations)
    lines.push(`  compensated ${c.step.padEnd(10)} ${c.status}${c.error ? `: ${c.error}` : ''}`);
  if (s.error) lines.push(`  error: ${sagaFailureText(s)}`);
  if (s.result) {
    const m = s.result.metrics as unknown as Record<string, unknown>;
    lines.push(`  params: ${JSON.stringify(s.result.params)}`);
    lines.push(`  metrics: ${JSON.stringify(m)}`);
  }
  return lines.join('\n');
}

function sagaFailureText(s: SagaStateView): string {
  if (!s.error) return `saga ${s.sagaId} ended ${s.state}`;
  const where = s.error.step ? ` at step ${s.error.step}` : '';
  const why = s.error.cancelReason ? ` (${s.error.cancelReason})` : '';
  return `saga ${s.sagaId} ended ${s.state}${where}, ${s.error.reason}${why}: ${s.error.message}`;
}

function formatTask(t: TaskInfo): string {
  const lines = [
    `Task ${t.taskId} (${t.type}, ${t.lane} lane)`,
    `  status: ${t.status}`,
    `  attempts: ${t.attempts}/${t.maxAttempts}`,
  ];
  if (t.result !== undefined) lines.push(`  result: ${JSON.stringify(t.result)}`);
  if (t.error) lines.push(`  error: ${t.error}`);
  return lines.join('\n');
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch (err) {
    throw new InvalidArgumentError(`must be JSON (${(err as Error).message})`);
  }
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: Error) => {
      process.stderr.write(`sagalane: ${err.message}\n`);
      process.exitCode = 1;
    });
}

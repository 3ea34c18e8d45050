#!/usr/bin/env node
/**
 * The `sagalane` command line: the command tree, declared here, over one module per command group. Each command is
 * a thin layer over the typed clients and the process runtime, and opens only the backend it needs.
 *
 * Output: with `--json` a command prints exactly one JSON document on stdout; without it, readable text. Progress
 * and logs go to stderr. A failure exits non-zero with the reason on stderr: 69 when a backend it needs (Temporal
 * or Redis) does not answer, 1 otherwise. Commands close their connections, so the process ends on its own.
 *
 * Tracing (OTEL_* variables, src/observability/tracing.ts): a client command (`saga start`, `task submit`, …) is one
 * span, the parent of what it starts; `--verbose` prints its trace id on stderr and `--json` output carries it as
 * `traceId`. The long-running commands (`dev`, `worker`, `mcp`) trace the work they serve, not themselves.
 */
import { Command } from 'commander';
import {
  activeTraceIds,
  inSpan,
  shutdownTracing,
  startTracing,
  tracingEnabled,
} from '../observability/tracing';
import { BackendUnavailableError } from '../client/front-door';
import { EXIT_BACKEND_UNAVAILABLE } from './context';
import { devCommand } from './dev';
import { initCommand } from './init';
import { laneCommand } from './lane';
import { mcpCommand } from './mcp';
import { pipelineCommand } from './pipeline';
import { sagaCommand } from './saga';
import { taskCommand } from './task';
import { workerCommand } from './worker';

export { CommandOutcomeError } from './context';

export function buildCli(): Command {
  return new Command('sagalane')
    .description('Durable multi-agent sagas on Temporal, a Redis Streams express lane, and an MCP bridge.')
    .showHelpAfterError('(run with --help for usage)')
    .option('--verbose', "print the command's trace id on stderr (tracing on: OTEL_EXPORTER_OTLP_ENDPOINT)")
    .addHelpText(
      'after',
      '\nExit status: 0 success, 1 failure (bad input, saga rolled back, task dead), 69 a backend is not reachable.',
    )
    .addCommand(initCommand())
    .addCommand(devCommand())
    .addCommand(workerCommand())
    .addCommand(mcpCommand())
    .addCommand(pipelineCommand())
    .addCommand(sagaCommand())
    .addCommand(taskCommand())
    .addCommand(laneCommand());
}

/** Runs the CLI on `argv` (as `process.argv`: node and script first); sets the exit code on failure. */
export async function main(argv: string[] = process.argv): Promise<void> {
  const command = commandPath(argv);
  startTracing({ serviceName: serviceNameOf(command) });
  let traceId: string | undefined;
  const run = async () => {
    traceId = activeTraceIds()?.traceId;
    await buildCli().parseAsync(argv);
  };
  try {
    if (SERVING_COMMANDS.has(command[0] ?? '')) await run();
    else
      await inSpan(
        `sagalane ${command.join(' ') || '(help)'}`,
        { attributes: { 'cli.command': command.join(' ') } },
        run,
      );
  } catch (err) {
    process.stderr.write(`sagalane: ${(err as Error).message}\n`);
    process.exitCode = err instanceof BackendUnavailableError ? EXIT_BACKEND_UNAVAILABLE : 1;
  } finally {
    if (argv.includes('--verbose') && !SERVING_COMMANDS.has(command[0] ?? ''))
      process.stderr.write(
        traceId
          ? `trace ${traceId}\n`
          : tracingEnabled()
            ? 'trace: not sampled\n'
            : 'trace: tracing is off (set OTEL_EXPORTER_OTLP_ENDPOINT)\n',
      );
    // Export the command's spans before the process ends.
    await shutdownTracing();
  }
}

/** Commands that serve work until stopped: their spans are the work's, not one for the whole process. */
const SERVING_COMMANDS = new Set(['dev', 'worker', 'mcp']);

/** The command's words (`['saga', 'start']`): the first two arguments that are not options. */
function commandPath(argv: string[]): string[] {
  return argv
    .slice(2)
    .filter((a) => !a.startsWith('-'))
    .slice(0, 2);
}

/** `service.name` when OTEL_SERVICE_NAME is not set: `sagalane-worker-saga`, `sagalane-mcp`, `sagalane-cli`. */
function serviceNameOf(command: string[]): string {
  if (command[0] === 'worker' && command[1]) return `sagalane-worker-${command[1]}`;
  return SERVING_COMMANDS.has(command[0] ?? '') ? `sagalane-${command[0]}` : 'sagalane-cli';
}

if (require.main === module) void main();

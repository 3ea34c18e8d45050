#!/usr/bin/env node
/**
 * The `sagalane` command line: the command tree, declared here, over one module per command group. Each command is
 * a thin layer over the typed clients and the process runtime, and opens only the backend it needs.
 *
 * Output: with `--json` a command prints exactly one JSON document on stdout; without it, readable text. Progress
 * and logs go to stderr. A failure exits non-zero with the reason on stderr: 69 when a backend it needs (Temporal
 * or Redis) does not answer, 1 otherwise. Commands close their connections, so the process ends on its own.
 */
import { Command } from 'commander';
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
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`sagalane: ${(err as Error).message}\n`);
    process.exitCode = err instanceof BackendUnavailableError ? EXIT_BACKEND_UNAVAILABLE : 1;
  }
}

if (require.main === module) void main();

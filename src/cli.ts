#!/usr/bin/env node
/**
 * The `sagalane` command line. Each command is a thin layer over the typed clients and process entry points.
 */
import { Command } from 'commander';
import { loadConfigOrExit } from './config';
import { runDevStack } from './dev/local-stack';

export function buildCli(): Command {
  const program = new Command('sagalane').description(
    'Durable multi-agent sagas on Temporal, a Redis Streams express lane, and an MCP bridge.',
  );

  program
    .command('dev')
    .description(
      'Run the whole local stack: Temporal dev server (with UI), Redis, workers, MCP endpoint, metrics',
    )
    .action(async () => {
      const config = loadConfigOrExit();
      await runDevStack(config);
    });

  return program;
}

if (require.main === module) {
  buildCli()
    .parseAsync(process.argv)
    .catch((err: Error) => {
      process.stderr.write(`sagalane: ${err.message}\n`);
      process.exit(1);
    });
}

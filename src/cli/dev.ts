/** `sagalane dev`: the whole local stack in one process (src/dev). */
import { Command, Option } from 'commander';
import { loadConfigOrExit } from '../config';
import { devStackComponents, runDevStack } from '../dev/local-stack';

export function devCommand(): Command {
  return new Command('dev')
    .description(
      'Run the whole local stack: Temporal dev server (with UI), Redis, saga and express workers, MCP endpoint, metrics',
    )
    .addOption(
      new Option(
        '--persistence <store>',
        'Temporal state: sqlite (dev server) or postgres (Temporal server on SAGALANE_POSTGRES_URL, docs/DEPLOY.md)',
      )
        .choices(['sqlite', 'postgres'])
        .default('sqlite'),
    )
    .option(
      '--tracing',
      "Also run Jaeger (UI on 127.0.0.1:16686 or a free port) and send the whole stack's traces to it over OTLP/HTTP",
      false,
    )
    .action(async (opts: { persistence: 'sqlite' | 'postgres'; tracing: boolean }) => {
      await runDevStack(loadConfigOrExit(), {
        components: devStackComponents(),
        persistence: opts.persistence,
        tracing: opts.tracing,
      });
    });
}

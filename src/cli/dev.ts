/** `sagalane dev`: the whole local stack in one process (src/dev). */
import { Command } from 'commander';
import { loadConfigOrExit } from '../config';
import { devStackComponents, runDevStack } from '../dev/local-stack';

export function devCommand(): Command {
  return new Command('dev')
    .description(
      'Run the whole local stack: Temporal dev server (with UI), Redis, saga and express workers, MCP endpoint, metrics',
    )
    .action(async () => {
      await runDevStack(loadConfigOrExit(), { components: devStackComponents() });
    });
}

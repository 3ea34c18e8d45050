/**
 * `sagalane mcp [--http [port]] [--read-only]`: the MCP bridge on stdio or Streamable HTTP. Neither connects to a
 * backend at start: the tools open their client through the lazy front door when first called.
 */
import { loadSagaModule } from '../catalog/saga-module';
import { boardAddOn } from '../board/board-add-on';
import { Command } from 'commander';
import { clientTemporalAddress, openLazyFrontDoor } from '../client/front-door';
import { loadConfigOrExit, type Config } from '../config';
import { mcpHttpComponent } from '../mcp/http-component';
import { createMcpServer } from '../mcp/server';
import { serveMcpOverStdio } from '../mcp/stdio';
import { metricsComponent } from '../runtime/components';
import { runComponents } from '../runtime/run-components';
import { untilSignalled } from '../runtime/signals';
import { parsePort } from './context';

export function mcpCommand(): Command {
  return new Command('mcp')
    .description('Serve the MCP bridge: on stdio (default) or Streamable HTTP at /mcp with --http')
    .option(
      '--http [port]',
      'serve Streamable HTTP on this port (default SAGALANE_MCP_PORT, 7300)',
      parsePort,
    )
    .option('--read-only', 'expose only the read tools (no start, cancel or submit)')
    .action(async (opts: { http?: number | true; readOnly?: boolean }) => {
      const config = loadConfigOrExit();
      if (opts.http === undefined) {
        await serveStdio(config, opts.readOnly ?? false);
        return;
      }
      await runComponents(
        config,
        [
          mcpHttpComponent({ readOnly: opts.readOnly, port: opts.http === true ? undefined : opts.http }),
          metricsComponent(boardAddOn()),
        ],
        { temporalAddress: clientTemporalAddress(config), service: 'mcp' },
      );
    });
}

async function serveStdio(config: Config, readOnly: boolean): Promise<void> {
  const door = openLazyFrontDoor(config);
  try {
    const server = createMcpServer({
      frontDoor: door,
      readOnly,
      catalog: loadSagaModule(config.sagasModule).catalog,
      addresses: { temporalAddress: clientTemporalAddress(config), redisUrl: config.redisUrl },
      maxSubscriptions: config.mcp.maxSubscriptions,
      taskResultWaitMs: config.mcp.taskResultWaitMs,
      // SAGALANE_MCP_REQUEST_STATE_KEY: an approval round started through another MCP process is answered here.
      requestStateKey: config.mcp.requestStateKey,
    });
    await serveMcpOverStdio(server, { until: untilSignalled() });
  } finally {
    await door.close();
  }
}

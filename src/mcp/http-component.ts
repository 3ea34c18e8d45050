/**
 * The MCP Streamable HTTP endpoint as a stack component (`sagalane dev`, `sagalane mcp --http`). Its clients come
 * from a lazy front door, so the endpoint starts and lists its tools with Temporal or Redis down; a tool whose
 * backend is down fails with the backend's name, address and how to start it, and works once it is back.
 */
import { loadSagaModule } from '../catalog/saga-module';
import { openLazyFrontDoor } from '../client/front-door';
import { createLogger } from '../logger';
import { instrumentExpressClient } from '../observability';
import type { StackComponent } from '../runtime/stack';
import { startMcpHttpServer } from './http-server';
import { createModernMcpServer } from './modern-server';
import { sagaListenFeed } from './saga-listen';
import { createMcpServer } from './server';

export interface McpHttpComponentOptions {
  /** Register only the read tools. @defaultValue false */
  readOnly?: boolean;
  /** Port (0 = a free one). @defaultValue `config.mcp.port` */
  port?: number;
}

export function mcpHttpComponent(options: McpHttpComponentOptions = {}): StackComponent {
  return {
    name: 'MCP HTTP endpoint',
    async start({ config, temporalAddress, metrics, temporalConnection }) {
      const door = openLazyFrontDoor(config, {
        address: temporalAddress,
        // In `sagalane dev` the saga worker's connection: sagas started through MCP start eagerly on that worker.
        temporalConnection,
        // Count submissions made through MCP; stream gauges come from the metrics component.
        onExpressClient: (express) => instrumentExpressClient(express, metrics, { streamStats: false }),
      });
      const addresses = { temporalAddress, redisUrl: config.redisUrl };
      // SAGALANE_SAGAS's sagas (else the research pipeline) get their start tools.
      const { catalog } = loadSagaModule(config.sagasModule);
      try {
        const server = await startMcpHttpServer({
          createServer: (session) =>
            createMcpServer({
              frontDoor: door,
              readOnly: options.readOnly,
              catalog,
              addresses,
              subscriptionBudget: session.subscriptionBudget,
              maxSubscriptions: config.mcp.maxSubscriptions,
              taskResultWaitMs: config.mcp.taskResultWaitMs,
            }),
          createModernServer: () =>
            createModernMcpServer({
              backends: door,
              readOnly: options.readOnly,
              catalog,
              addresses,
              requestStateKey: config.mcp.requestStateKey,
            }),
          modernListenFeed: sagaListenFeed(door),
          host: config.mcp.host,
          port: options.port ?? config.mcp.port,
          token: config.mcp.token,
          tokens: config.mcp.tokens,
          allowedHosts: config.mcp.allowedHosts,
          allowedOrigins: config.mcp.allowedOrigins,
          maxSessions: config.mcp.maxSessions,
          maxSessionsPerToken: config.mcp.maxSessionsPerToken,
          maxSubscriptionsPerToken: config.mcp.maxSubscriptionsPerToken,
          sessionIdleMs: config.mcp.sessionIdleMs,
          logger: createLogger(config.logLevel, { component: 'mcp-http' }),
        });
        return {
          endpoints: { 'MCP (HTTP)': server.url + (options.readOnly ? ' (read-only)' : '') },
          async stop() {
            await server.close();
            await door.close();
          },
        };
      } catch (err) {
        await door.close();
        throw err;
      }
    },
  };
}

/**
 * The lane board as an add-on of the metrics endpoint: what entry points pass to `metricsComponent` /
 * `workerComponents`, so every process with `/metrics` (`sagalane dev` included) serves `/board` on the metrics port,
 * or on SAGALANE_BOARD_PORT when set. Its clients are opened here, lazily for Temporal (the board starts and shows the
 * lane with Temporal down). Exposed on a non-loopback address without a token, it is not served at all.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openLazyFrontDoor } from '../client/front-door';
import { isLoopback, type Config } from '../config';
import { ExpressClient } from '../lane/express-client';
import { openLaneConnection } from '../lane/redis-connections';
import type { TaskSchema } from '../lane/task-types';
import type { MetricsAddOn } from '../runtime/components';
import { DEFAULT_TASK_SCHEMAS } from '../runtime/task-schemas';
import { loadSagaModule } from '../catalog/saga-module';
import { stepTaskSchemas } from '../dispatch/activity-step-contract';
import { BoardData } from './board-data';
import { createBoard, type Board } from './board-server';

export interface BoardAddOnOptions {
  /**
   * Task types the board shows. @defaultValue the metrics endpoint's: DEFAULT_TASK_SCHEMAS (built-in and agent types)
   * and the lane-dispatched saga steps (`step.reasoning`, …)
   */
  taskSchemas?: TaskSchema[];
}

export function boardAddOn(options: BoardAddOnOptions = {}): MetricsAddOn {
  return {
    async start({ config, temporalAddress, metrics }) {
      const host = config.metrics.host;
      const tokens = [config.mcp.token, ...config.mcp.tokens].filter(Boolean);
      if (!config.board.enabled) return { close: async () => undefined };
      if (!isLoopback(host) && tokens.length === 0) {
        return {
          endpoints: { Board: `off: ${host} is not loopback and no SAGALANE_MCP_TOKEN is set` },
          close: async () => undefined,
        };
      }
      const types = options.taskSchemas ?? [
        ...DEFAULT_TASK_SCHEMAS,
        // The step types of the sagas this process serves (SAGALANE_SAGAS's catalog, or the research pipeline's).
        ...stepTaskSchemas(Object.keys(loadSagaModule(config.sagasModule).catalog.dispatchSteps())),
      ];
      const redis = openLaneConnection(config.redisUrl, 'client');
      redis.on('error', () => undefined);
      const express = new ExpressClient({ types, connection: redis, keyPrefix: config.keyPrefix });
      const door = temporalAddress ? openLazyFrontDoor(config, { address: temporalAddress }) : undefined;
      const board = createBoard({
        data: new BoardData({ express, redis, types, metrics }),
        express,
        sagas: door ? () => door.sagas() : undefined,
        readOnly: config.board.readOnly,
        token: config.mcp.token,
        tokens: config.mcp.tokens,
        allowedHosts: config.mcp.allowedHosts,
        allowedOrigins: config.mcp.allowedOrigins,
        temporalUi: temporalUiOf(config),
      });
      const release = async () => {
        board.close();
        await door?.close();
        await express.close();
        redis.disconnect();
      };
      const suffix = config.board.readOnly ? ' (read-only)' : '';
      if (config.board.port === undefined) {
        return {
          mount: {
            route: { prefix: '/board', handle: (req, res) => board.handle(req, res) },
            label: 'Board',
            note: suffix.trim() || undefined,
          },
          close: release,
        };
      }
      try {
        const own = await listen(board, host, config.board.port);
        return {
          endpoints: { Board: `${own.url}/board${suffix}` },
          close: async () => {
            await own.close();
            await release();
          },
        };
      } catch (err) {
        await release();
        throw err;
      }
    },
  };
}

export function temporalUiOf(config: Config): string {
  return `${config.board.temporalUiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}`;
}

/** The board on a port of its own: `/board…` goes to it, anything else is 404. */
export async function listen(
  board: Board,
  host: string,
  port: number,
): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/board' || path.startsWith('/board/')) return board.handle(req, res);
    res
      .writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      .end('no route; the board is at /board\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`board cannot listen on ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

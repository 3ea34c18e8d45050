/**
 * Opens the clients a front door (CLI, MCP server, an embedding service) needs from the config: a SagaClient on
 * Temporal and an ExpressClient on Redis that can validate every built-in and agent task type.
 */
import type { Config } from '../config';
import { agentTaskSchemas } from '../lane/agent-task-types';
import { builtinTaskTypes } from '../lane/builtin-task-types';
import { ExpressClient } from '../lane/express-client';
import type { TaskSchema } from '../lane/task-types';
import { SagaClient } from './saga-client';

/** The task types sagalane's own workers serve, schema part only: what a producer validates submissions against. */
export const DEFAULT_TASK_SCHEMAS: TaskSchema[] = [
  ...(builtinTaskTypes as TaskSchema[]),
  ...agentTaskSchemas,
];

export interface FrontDoorClients {
  sagas: SagaClient;
  express: ExpressClient;
  close(): Promise<void>;
}

/**
 * The Temporal address clients use: TEMPORAL_ADDRESS, or else the local dev server `sagalane dev` runs on
 * SAGALANE_TEMPORAL_PORT.
 */
export function clientTemporalAddress(config: Config): string {
  return config.temporal.address ?? `127.0.0.1:${config.temporal.devPort}`;
}

export async function openFrontDoorClients(
  config: Config,
  options: { address?: string; taskSchemas?: TaskSchema[] } = {},
): Promise<FrontDoorClients> {
  const sagas = await SagaClient.connect(config, {
    address: options.address ?? clientTemporalAddress(config),
  });
  const express = new ExpressClient({
    types: options.taskSchemas ?? DEFAULT_TASK_SCHEMAS,
    redisUrl: config.redisUrl,
    keyPrefix: config.keyPrefix,
  });
  return {
    sagas,
    express,
    async close() {
      await Promise.allSettled([sagas.close(), express.close()]);
    },
  };
}

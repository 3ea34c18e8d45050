/**
 * Cheap built-in task types doing real, small work: useful for benchmarks, smoke tests and checking a
 * deployment end to end without the research agents.
 */
import path from 'node:path';
import { z } from 'zod';
import { defineTaskType } from './task-types';

/** Returns its payload: measures the lane's own overhead. */
export const echoTaskType = defineTaskType({
  name: 'echo',
  schema: z.object({ message: z.string().max(10_000) }).passthrough(),
  handler: async (payload) => payload,
  defaults: { lane: 'express', timeoutMs: 10_000 },
});

/**
 * sha256 of `data`, chained `rounds` times: CPU-bound, verifiable by the caller. Runs in the worker's thread pool,
 * so a lane full of hashes never blocks the event loop that serves express tasks.
 */
export const hashTaskType = defineTaskType({
  name: 'hash',
  schema: z.object({
    data: z.string().max(100_000),
    rounds: z.number().int().min(1).max(100_000).default(1),
  }),
  pooled: { module: path.join(__dirname, `hash-handler${path.extname(__filename)}`), export: 'sha256Chain' },
  defaults: { lane: 'standard', timeoutMs: 10_000 },
});

export const builtinTaskTypes = [echoTaskType, hashTaskType];

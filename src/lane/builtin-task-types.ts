/**
 * Cheap built-in task types doing real, small work: useful for benchmarks, smoke tests and checking a
 * deployment end to end without the research agents.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineTaskType } from './task-types';

/** Returns its payload: measures the lane's own overhead. */
export const echoTaskType = defineTaskType({
  name: 'echo',
  schema: z.object({ message: z.string().max(10_000) }).passthrough(),
  handler: async (payload) => payload,
  defaults: { lane: 'express', timeoutMs: 10_000 },
});

/** sha256 of `data`, chained `rounds` times: a little CPU per task, verifiable by the caller. */
export const hashTaskType = defineTaskType({
  name: 'hash',
  schema: z.object({
    data: z.string().max(100_000),
    rounds: z.number().int().min(1).max(100_000).default(1),
  }),
  handler: async ({ data, rounds }) => {
    let digest = data;
    for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
    return { digest, rounds };
  },
  defaults: { lane: 'standard', timeoutMs: 10_000 },
});

export const builtinTaskTypes = [echoTaskType, hashTaskType];

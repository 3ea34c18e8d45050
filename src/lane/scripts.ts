/**
 * The lane's Lua scripts. Each one makes a multi-key change atomic (all keys of a task type share a Cluster slot):
 * a task is never acknowledged without its outcome stored, and never stored twice as final.
 * Scripts run with EVALSHA and fall back to EVAL on NOSCRIPT (e.g. after a Redis restart).
 */
import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

export interface LaneScript {
  name: string;
  source: string;
  sha: string;
}

function script(name: string, source: string): LaneScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Fields of a stream entry: id, payload (JSON), attempt, max (attempts), timeout (ms), at (submitted, ms). */
export const ENTRY_FIELDS = ['id', 'payload', 'attempt', 'max', 'timeout', 'at'] as const;

/** Values per task in SUBMIT's ARGV, after the leading idempotency TTL. */
export const SUBMIT_ARGS_PER_TASK = 8;

/**
 * Enqueues one or more tasks of one stream (one type and lane: one Cluster slot) in a single call.
 * KEYS: stream, then per task: task hash[, idempotency key]. ARGV: idempotencyTtlSec, then per task: taskId, type,
 * lane, payload, maxAttempts, timeoutMs, submittedAt, hasIdempotencyKey ('1' / '0').
 * Returns per task {1, taskId} when enqueued, {0, existingTaskId} for a repeated key (flattened).
 */
export const SUBMIT = script(
  'submit',
  `
local out, k = {}, 2
for a = 2, #ARGV, 8 do
  local taskKey = KEYS[k]
  k = k + 1
  local existing = false
  if ARGV[a + 7] == '1' then
    existing = redis.call('GET', KEYS[k])
    if not existing then redis.call('SET', KEYS[k], ARGV[a], 'EX', ARGV[1]) end
    k = k + 1
  end
  if existing then
    out[#out + 1] = 0
    out[#out + 1] = existing
  else
    redis.call('HSET', taskKey, 'type', ARGV[a + 1], 'lane', ARGV[a + 2], 'status', 'queued', 'attempts', '0',
      'maxAttempts', ARGV[a + 4], 'timeoutMs', ARGV[a + 5], 'submittedAt', ARGV[a + 6])
    redis.call('XADD', KEYS[1], '*', 'id', ARGV[a], 'payload', ARGV[a + 3], 'attempt', '1', 'max', ARGV[a + 4],
      'timeout', ARGV[a + 5], 'at', ARGV[a + 6])
    out[#out + 1] = 1
    out[#out + 1] = ARGV[a]
  end
end
return out
`,
);

/**
 * KEYS: task hashes (one type: one slot). ARGV: startedAt, then each task's attempt. Marks runs as started, in one
 * call per dispatched batch, unless a task is already final.
 */
export const START = script(
  'start',
  `
for i, key in ipairs(KEYS) do
  local st = redis.call('HGET', key, 'status')
  if st ~= 'succeeded' and st ~= 'dead' then
    redis.call('HSET', key, 'status', 'running', 'startedAt', ARGV[1], 'attempts', ARGV[i + 1])
  end
end
return #KEYS
`,
);

/**
 * KEYS: stream, then one task hash per completed task. ARGV: group, ttlSec, channel, then per task: entryId, taskId,
 * resultJson, finishedAt, startedAt, attempt. Stores each result with its start and attempt (first result wins;
 * the error of an earlier attempt is cleared), XACKs and XDELs the entries, and publishes the ids (comma-separated)
 * on the completion channel: one call for every task that finished in the same tick.
 * XDEL on ack keeps the stream holding only unacknowledged entries: no MAXLEN trim can drop a pending one.
 */
export const COMPLETE = script(
  'complete',
  `
local ids, tasks = {}, {}
for i = 2, #KEYS do
  local base = 4 + (i - 2) * 6
  local st = redis.call('HGET', KEYS[i], 'status')
  if st ~= 'succeeded' and st ~= 'dead' then
    redis.call('HSET', KEYS[i], 'status', 'succeeded', 'result', ARGV[base + 2], 'finishedAt', ARGV[base + 3],
      'startedAt', ARGV[base + 4], 'attempts', ARGV[base + 5])
    if ARGV[base + 5] ~= '1' then redis.call('HDEL', KEYS[i], 'error') end
    redis.call('EXPIRE', KEYS[i], ARGV[2])
  end
  ids[#ids + 1] = ARGV[base]
  tasks[#tasks + 1] = ARGV[base + 1]
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
redis.call('PUBLISH', ARGV[3], table.concat(tasks, ','))
return acked
`,
);

/**
 * KEYS: stream, task hash, delayed zset. ARGV: group, entryId, error, attempts, retryAt, retryMemberJson.
 * Records the failed attempt and schedules the retry, then acknowledges the old entry.
 */
export const RETRY = script(
  'retry',
  `
local st = redis.call('HGET', KEYS[2], 'status')
if st ~= 'succeeded' and st ~= 'dead' then
  redis.call('HSET', KEYS[2], 'status', 'queued', 'error', ARGV[3], 'attempts', ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return acked
`,
);

/**
 * KEYS: stream, dead-letter stream[, task hash]. ARGV: group, entryId, taskId ('' if unknown), reason, error,
 * attempts, payload, finishedAt, ttlSec, channel. Moves an entry to the dead-letter stream (with why) and
 * marks the task dead, unless it already succeeded.
 */
export const DEAD_LETTER = script(
  'deadLetter',
  `
local final = false
if #KEYS == 3 then
  local st = redis.call('HGET', KEYS[3], 'status')
  final = (st == 'succeeded' or st == 'dead')
  if not final then
    redis.call('HSET', KEYS[3], 'status', 'dead', 'error', ARGV[5], 'attempts', ARGV[6], 'finishedAt', ARGV[8])
    redis.call('EXPIRE', KEYS[3], ARGV[9])
  end
end
if not final then
  redis.call('XADD', KEYS[2], '*', 'id', ARGV[3], 'entry', ARGV[2], 'reason', ARGV[4], 'error', ARGV[5],
    'attempts', ARGV[6], 'payload', ARGV[7], 'at', ARGV[8])
end
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[10], ARGV[3]) end
return acked
`,
);

/** KEYS: delayed zset, stream. ARGV: now, limit. Moves due retries back into the stream. */
export const PROMOTE = script(
  'promote',
  `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, m in ipairs(due) do
  local t = cjson.decode(m)
  redis.call('XADD', KEYS[2], '*', 'id', t.id, 'payload', t.payload, 'attempt', t.attempt, 'max', t.max,
    'timeout', t.timeout, 'at', t.at)
  redis.call('ZREM', KEYS[1], m)
end
return #due
`,
);

/**
 * KEYS: stream, task hash. ARGV: group, entryId, then the entry's field/value pairs. Hands an entry back
 * (graceful shutdown): acknowledges it and appends an identical one that any consumer can read at once.
 */
export const HAND_BACK = script(
  'handBack',
  `
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if acked == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
local st = redis.call('HGET', KEYS[2], 'status')
if st == 'running' then redis.call('HSET', KEYS[2], 'status', 'queued') end
return 1
`,
);

/**
 * KEYS: stream. ARGV: group, consumer, ids… Resets the idle time of the entries this consumer still owns
 * (XCLAIM … JUSTID does not count a delivery), so a short min-idle time only catches dead consumers.
 * Returns the ids another consumer has reclaimed (ids no longer pending were simply acknowledged meanwhile).
 */
export const KEEPALIVE = script(
  'keepalive',
  `
local mine, lost = {}, {}
for i = 3, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] then
    if p[1][2] == ARGV[2] then table.insert(mine, ARGV[i]) else table.insert(lost, ARGV[i]) end
  end
end
if #mine > 0 then redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(mine)) end
return lost
`.replace('unpack(mine))', "unpack(mine), 'JUSTID')"),
);

export async function runScript(
  redis: Redis,
  s: LaneScript,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
    return redis.eval(s.source, keys.length, ...keys, ...args);
  }
}

/**
 * The lane's Lua scripts. Each one makes a multi-key change atomic (all keys of a task type share a Cluster slot):
 * a task is never acknowledged without its outcome stored, and never stored twice as final.
 *
 * Fencing: every script that writes a worker's outcome first checks, in the same atomic step, that the calling
 * consumer still owns the entry (XPENDING names the owner). A consumer cut off from Redis long enough for its
 * entries to be reclaimed can therefore not overwrite, acknowledge or reschedule what another consumer now runs.
 *
 * Scripts run with EVALSHA and fall back to EVAL on NOSCRIPT (e.g. after a Redis restart).
 */
import { createHash } from 'node:crypto';
import { isCluster, type RedisClient } from './redis-connections';

export interface LaneScript {
  name: string;
  source: string;
  sha: string;
  /** The same script publishing with SPUBLISH (sharded pub/sub), run on a Redis Cluster. */
  sharded?: LaneScript;
}

/** `owns(stream, group, id, consumer)`: the entry is pending and this consumer holds it. Shared by the scripts. */
const OWNS = `
local function pendingOf(stream, group, id)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  return p[1]
end
local function owns(stream, group, id, consumer)
  local p = pendingOf(stream, group, id)
  return p ~= nil and p[2] == consumer
end
`;

/** A script with its source (OWNS prepended), SHA and, when it publishes, its sharded-pub/sub twin. */
export function script(name: string, body: string): LaneScript {
  const source = OWNS + body;
  const s: LaneScript = { name, source, sha: createHash('sha1').update(source).digest('hex') };
  // On a Cluster, PUBLISH would broadcast every completion to every node; SPUBLISH (Redis >= 7.0) reaches only
  // the shard of the channel's slot, which is the script's slot (the channel carries the type's hash tag).
  if (body.includes("'PUBLISH'")) s.sharded = script(name, body.replaceAll("'PUBLISH'", "'SPUBLISH'"));
  return s;
}

/**
 * Fields of a stream entry: id, payload (JSON), `m` = "attempt max timeout at" (the attempt, max attempts, timeout
 * ms and submit time ms, space-separated), and `dlv` (deliveries before a hand-back; absent for a fresh entry).
 * Three fields rather than six: every entry is decoded by the worker, and each field is two more strings in the
 * XREADGROUP reply (decoding a six-field entry cost the worker ~5.6 µs, a three-field one ~3.2 µs). The worker also
 * reads the older form, with attempt, max, timeout and at as fields of their own (entries.ts).
 */
export const ENTRY_FIELDS = ['id', 'payload', 'm'] as const;

/**
 * The submitter's W3C trace context, written only while tracing is on (lane-tracing.ts): `tp` = traceparent, `ts` =
 * tracestate (only when the context has one). Two letters like `m`, `dlv` and `rp`: the names are in every traced
 * entry of the XREADGROUP reply, and the values (55 bytes for a traceparent) are what the docs show anyway.
 * A hand-back, a retry (RETRY's member, PROMOTE) and a reclaim keep them, so every delivery joins the same trace.
 */
export const TRACE_FIELDS = { traceparent: 'tp', tracestate: 'ts' } as const;

/** The longest error text a task record or dead letter keeps, in bytes (the rest is cut). */
export const MAX_ERROR_BYTES = 4096;

/** Values per task in SUBMIT's ARGV, after the eight leading ones. */
export const SUBMIT_ARGS_PER_TASK = 5;
/** Values per task in SUBMIT_TRACED's ARGV: SUBMIT's and the traceparent and tracestate ('' when absent). */
export const SUBMIT_TRACED_ARGS_PER_TASK = 7;

/** SUBMIT's first reply value when the stream's backlog is full (the second is the backlog). */
export const SUBMIT_BACKLOG_FULL = -2;
/** SUBMIT's first reply value when the stream holds its byte budget (the second is its estimated size). */
export const SUBMIT_BACKLOG_BYTES_FULL = -3;
/** SUBMIT's per-task code for a repeated idempotency key with a different payload. */
export const SUBMIT_KEY_CONFLICT = -1;

/**
 * Enqueues one or more tasks of one stream (one type and lane: one Cluster slot) in a single call.
 * KEYS: stream, then the idempotency key of each task that has one, in task order. ARGV: maxBacklog, type, lane,
 * submittedAt, taskKeyPrefix (the type's \`…:task:\` prefix: task records share the stream's slot), lifeSec,
 * maxBacklogBytes, and the backlog from which the bytes are checked (maxBacklogBytes / maxPayloadBytes), then per
 * task: taskId, payload, maxAttempts, timeoutMs, hasIdempotencyKey ('1' / '0') (SUBMIT_TRACED: and then
 * traceparent and tracestate, '' when absent). What is the same for every task
 * of the call is passed once: fewer bytes for the client to encode and fewer strings for the script.
 * Returns {-2, backlog} when the stream holds maxBacklog entries already, {-3, bytes} when it holds maxBacklogBytes
 * (nothing enqueued); otherwise, flattened
 * in task order: 1 for a task enqueued (the caller knows its id), or 0, firstTaskId for a repeated key with the same
 * payload, or -1, firstTaskId for a repeated key with another payload. The record and the idempotency key expire
 * after lifeSec from submit, renewed while the task lives by the janitor's record check (CHECK_RECORD, janitor-scripts.ts), which also
 * ends a task whose entry vanished unread; COMPLETE and DEAD_LETTER give both the retention when the task ends. So a
 * task queued for long cannot be submitted twice, and nothing of a task that was never noticed stays for ever.
 */
function submitBody(traced: boolean): string {
  const perTask = traced ? SUBMIT_TRACED_ARGS_PER_TASK : SUBMIT_ARGS_PER_TASK;
  const entry = `'id', taskId, 'payload', payload, 'm', '1 ' .. ARGV[a + 2] .. ' ' .. ARGV[a + 3] .. ' ' .. at`;
  const xadd = traced
    ? `    local entryId
    if ARGV[a + 5] == '' then
      entryId = redis.call('XADD', stream, '*', ${entry})
    elseif ARGV[a + 6] == '' then
      entryId = redis.call('XADD', stream, '*', ${entry}, '${TRACE_FIELDS.traceparent}', ARGV[a + 5])
    else
      entryId = redis.call('XADD', stream, '*', ${entry}, '${TRACE_FIELDS.traceparent}', ARGV[a + 5],
        '${TRACE_FIELDS.tracestate}', ARGV[a + 6])
    end
`
    : `    local entryId = redis.call('XADD', stream, '*', 'id', taskId, 'payload', payload,
      'm', '1 ' .. ARGV[a + 2] .. ' ' .. ARGV[a + 3] .. ' ' .. at)
`;
  return `
local stream, type, lane, at, prefix, life = KEYS[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local tasks = (#ARGV - 8) / ${perTask}
local backlog = redis.call('XLEN', stream)
if backlog + tasks > tonumber(ARGV[1]) then return {-2, backlog} end
-- The byte budget, once the backlog could have reached it: MEMORY USAGE samples a few nodes of the stream.
if backlog + tasks >= tonumber(ARGV[8]) then
  local bytes = redis.call('MEMORY', 'USAGE', stream) or 0
  if bytes >= tonumber(ARGV[7]) then return {-3, bytes} end
end
local out, k = {}, 2
for a = 9, #ARGV, ${perTask} do
  local taskId, payload = ARGV[a], ARGV[a + 1]
  local idemKey = false
  local existing = false
  local digest = ''
  if ARGV[a + 4] == '1' then
    idemKey = KEYS[k]
    k = k + 1
    digest = redis.sha1hex(payload)
    existing = redis.call('GET', idemKey)
    if not existing then redis.call('SET', idemKey, taskId .. ' ' .. digest, 'EX', life) end
  end
  if existing then
    local sep = string.find(existing, ' ', 1, true)
    local firstId = sep and string.sub(existing, 1, sep - 1) or existing
    local firstDigest = sep and string.sub(existing, sep + 1) or digest
    out[#out + 1] = (firstDigest == digest) and 0 or -1
    out[#out + 1] = firstId
  else
${xadd}    local taskKey = prefix .. taskId
    if idemKey then
      redis.call('HSET', taskKey, 'type', type, 'lane', lane, 'status', 'queued', 'attempts', '0',
        'maxAttempts', ARGV[a + 2], 'timeoutMs', ARGV[a + 3], 'submittedAt', at, 'entry', entryId, 'idem', idemKey)
    else
      redis.call('HSET', taskKey, 'type', type, 'lane', lane, 'status', 'queued', 'attempts', '0',
        'maxAttempts', ARGV[a + 2], 'timeoutMs', ARGV[a + 3], 'submittedAt', at, 'entry', entryId)
    end
    redis.call('EXPIRE', taskKey, life)
    out[#out + 1] = 1
  end
end
return out
`;
}

export const SUBMIT = script('submit', submitBody(false));

/**
 * SUBMIT for calls with at least one task that carries W3C trace context (tracing on): per task two more values,
 * written as the entry's `tp` / `ts` fields when not empty. A twin rather than two more values in every SUBMIT call:
 * with tracing off (the default) the submit is exactly what it was, not two empty strings per task longer.
 */
export const SUBMIT_TRACED = script('submitTraced', submitBody(true));

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
 * Stream-id helpers shared by the scripts that compare ids: `idLess(a, b)` and `nextId(id)` (the smallest id
 * after `id`, for an exclusive XTRIM MINID bound).
 */
const STREAM_IDS = `
local function splitId(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function idLess(a, b)
  -- Ids of equal length compare as strings ('-' sorts below every digit, and ms has no leading zeros).
  if #a == #b then return a < b end
  local am, as = splitId(a)
  local bm, bs = splitId(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local function nextId(id)
  local ms, seq = splitId(id)
  return string.format('%d-%d', ms, seq + 1)
end
`;

/** Values per completed task in COMPLETE's ARGV, after the five leading ones. */
export const COMPLETE_ARGS_PER_TASK = 6;

/**
 * KEYS: stream. ARGV: group, ttlSec, channel, consumer, taskKeyPrefix (the type's \`…:task:\` prefix: task records
 * share the stream's slot), then per task: entryId, taskId, resultJson, finishedAt, startedAt, attempt.
 * For each entry the consumer still owns: stores the result with its start and attempt (first result wins; the
 * error of an earlier attempt is cleared), starts the retention of the record and of its idempotency key, XACKs it
 * and removes it from the stream; publishes the ids (comma-separated) on the completion channel. Entries owned by
 * another consumer (reclaimed while this one was cut off) are left untouched. Returns the entry ids that were not
 * stored (fenced): usually none, so the reply costs nothing to decode.
 *
 * Ownership of the batch is read with one XPENDING over its id range for this consumer (per id only if that reply
 * was cut at its limit). Acknowledged entries leave the stream, so it holds only unacknowledged ones (no trim can
 * drop a pending entry, and XLEN is the backlog): everything below the oldest entry still pending is acknowledged
 * (entries are delivered in id order), so one XTRIM MINID removes those (≈ 0.2 µs an entry on Redis 7.0), and
 * XDEL (≈ 5 µs an entry) is left for the few acknowledged above an older entry still running.
 */
export const COMPLETE = script(
  'complete',
  STREAM_IDS +
    `
local stream, group, ttl, consumer, prefix = KEYS[1], ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local first, last = ARGV[6], ARGV[6]
for base = 6, #ARGV, 6 do
  local id = ARGV[base]
  if idLess(id, first) then first = id end
  if idLess(last, id) then last = id end
end
local limit = (#ARGV - 5) / 6 * 4 + 64
local pending = redis.call('XPENDING', stream, group, first, last, limit, consumer)
local mine = {}
for _, p in ipairs(pending) do mine[p[1]] = true end
local cut = #pending >= limit
local ids, tasks, fenced = {}, {}, {}
for base = 6, #ARGV, 6 do
  local id = ARGV[base]
  if not (mine[id] or (cut and owns(stream, group, id, consumer))) then
    fenced[#fenced + 1] = id
  else
    local key = prefix .. ARGV[base + 1]
    local h = redis.call('HMGET', key, 'status', 'idem')
    if h[1] ~= 'succeeded' and h[1] ~= 'dead' then
      redis.call('HSET', key, 'status', 'succeeded', 'result', ARGV[base + 2], 'finishedAt', ARGV[base + 3],
        'startedAt', ARGV[base + 4], 'attempts', ARGV[base + 5])
      if ARGV[base + 5] ~= '1' then redis.call('HDEL', key, 'error') end
      redis.call('EXPIRE', key, ttl)
      if h[2] then redis.call('EXPIRE', h[2], ttl) end
    end
    ids[#ids + 1] = id
    tasks[#tasks + 1] = ARGV[base + 1]
  end
end
if #ids > 0 then
  redis.call('XACK', stream, group, unpack(ids))
  local summary = redis.call('XPENDING', stream, group)
  local keep
  if summary[1] == 0 then
    keep = ids[1]
    for _, id in ipairs(ids) do if idLess(keep, id) then keep = id end end
    keep = nextId(keep)
  else
    keep = summary[2]
  end
  redis.call('XTRIM', stream, 'MINID', keep)
  local above = {}
  for _, id in ipairs(ids) do if not idLess(id, keep) then above[#above + 1] = id end end
  if #above > 0 then redis.call('XDEL', stream, unpack(above)) end
  redis.call('PUBLISH', ARGV[3], table.concat(tasks, ','))
end
return fenced
`,
);

/**
 * KEYS: stream, task hash, delayed zset. ARGV: group, entryId, error, attempts, retryAt, retryMemberJson, consumer.
 * If the consumer still owns the entry: records the failed attempt, schedules the retry and acknowledges the old
 * entry (returns 1). Otherwise nothing changes (returns 0): the entry's new owner decides its fate.
 */
export const RETRY = script(
  'retry',
  `
if not owns(KEYS[1], ARGV[1], ARGV[2], ARGV[7]) then return 0 end
local st = redis.call('HGET', KEYS[2], 'status')
if st ~= 'succeeded' and st ~= 'dead' then
  -- No entry while the retry waits in the delayed set (PROMOTE sets the new one): CHECK_RECORD tells the two apart.
  redis.call('HSET', KEYS[2], 'status', 'queued', 'error', string.sub(ARGV[3], 1, ${MAX_ERROR_BYTES}),
    'attempts', ARGV[4], 'entry', '')
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[6])
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
`,
);

/**
 * KEYS: stream, dead-letter stream[, task hash]. ARGV: group, entryId, taskId ('' if unknown), reason, error,
 * attempts, payload, finishedAt, ttlSec, channel, consumer, deadLetterMaxLen. Moves an entry to the (capped)
 * dead-letter stream with why and marks the task dead, unless it already succeeded. With a consumer, only if it
 * still owns the entry (returns 0 otherwise); with consumer '' (the entry vanished from the stream and the janitor
 * speaks for it) without that check.
 */
export const DEAD_LETTER = script(
  'deadLetter',
  `
if ARGV[11] ~= '' and not owns(KEYS[1], ARGV[1], ARGV[2], ARGV[11]) then return 0 end
-- Dead letters are capped in number (MAXLEN) and each one's error text in bytes: a handler's error can be any size.
local err = string.sub(ARGV[5], 1, ${MAX_ERROR_BYTES})
local final = false
if #KEYS == 3 then
  local h = redis.call('HMGET', KEYS[3], 'status', 'idem')
  final = (h[1] == 'succeeded' or h[1] == 'dead')
  if not final then
    redis.call('HSET', KEYS[3], 'status', 'dead', 'error', err, 'attempts', ARGV[6], 'finishedAt', ARGV[8])
    redis.call('EXPIRE', KEYS[3], ARGV[9])
    if h[2] then redis.call('EXPIRE', h[2], ARGV[9]) end
  end
end
if not final then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[12], '*', 'id', ARGV[3], 'entry', ARGV[2], 'reason', ARGV[4],
    'error', err, 'attempts', ARGV[6], 'payload', ARGV[7], 'at', ARGV[8])
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[10], ARGV[3]) end
return 1
`,
);

/**
 * KEYS: stream, task hash. ARGV: group, consumer, entryId, then the entry's field/value pairs. Hands an entry back
 * (graceful shutdown) if this consumer still owns it: acknowledges it and appends an identical one that any
 * consumer can read at once, carrying the deliveries so far in `dlv` (so a task that kills workers during their
 * stop still reaches the delivery limit). Returns 1, or 0 when the entry is not this consumer's any more.
 */
export const HAND_BACK = script(
  'handBack',
  `
local p = pendingOf(KEYS[1], ARGV[1], ARGV[3])
if p == nil or p[2] ~= ARGV[2] then return 0 end
local fields, prior = {}, 0
for i = 4, #ARGV, 2 do
  if ARGV[i] == 'dlv' then
    prior = tonumber(ARGV[i + 1]) or 0
  else
    fields[#fields + 1] = ARGV[i]
    fields[#fields + 1] = ARGV[i + 1]
  end
end
fields[#fields + 1] = 'dlv'
fields[#fields + 1] = tostring(prior + p[4])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[3])
local entryId = redis.call('XADD', KEYS[1], '*', unpack(fields))
local st = redis.call('HGET', KEYS[2], 'status')
if st then
  if st == 'running' then redis.call('HSET', KEYS[2], 'status', 'queued') end
  redis.call('HSET', KEYS[2], 'entry', entryId)
end
return 1
`,
);

/**
 * KEYS: dead-letter stream, stream, task hash. ARGV: deadEntryId, taskId, type, lane, maxAttempts, timeoutMs, now.
 * Replays one dead letter as a fresh run of the same task (attempt 1, same task id, so `result()` waiters see it):
 * re-enqueues its payload, resets the record to `queued` (removing its expiry) and deletes the dead letter. The new
 * entry carries `rp` = 1: an earlier delivery of the task may have run (a handler's `ctx.redelivered`).
 * Returns 1, or 0 when the dead letter no longer exists.
 */
export const REPLAY_DEAD = script(
  'replayDead',
  `
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]
if e == nil then return 0 end
local payload = nil
for i = 1, #e[2], 2 do if e[2][i] == 'payload' then payload = e[2][i + 1] end end
if payload == nil then return 0 end
local h = redis.call('HMGET', KEYS[3], 'maxAttempts', 'timeoutMs')
local max = h[1] or ARGV[5]
local timeout = h[2] or ARGV[6]
local entryId = redis.call('XADD', KEYS[2], '*', 'id', ARGV[2], 'payload', payload,
  'm', '1 ' .. max .. ' ' .. timeout .. ' ' .. ARGV[7], 'rp', '1')
redis.call('HDEL', KEYS[3], 'result', 'finishedAt', 'startedAt')
redis.call('HSET', KEYS[3], 'type', ARGV[3], 'lane', ARGV[4], 'status', 'queued', 'attempts', '0',
  'maxAttempts', max, 'timeoutMs', timeout, 'submittedAt', ARGV[7], 'entry', entryId)
redis.call('PERSIST', KEYS[3])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
`,
);

export async function runScript(
  redis: RedisClient,
  s: LaneScript,
  keys: string[],
  args: (string | number)[],
): Promise<unknown> {
  if (s.sharded && isCluster(redis)) s = s.sharded;
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
    return redis.eval(s.source, keys.length, ...keys, ...args);
  }
}

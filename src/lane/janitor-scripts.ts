/**
 * The janitor's scripts (see ./janitor.ts): retry promotion (PROMOTE), the owner's keepalive (KEEPALIVE), the orphan
 * sweep (RECLAIM), both in one call per slot (SWEEP), and the record check (CHECK_RECORD). The scripts that store a
 * worker's outcomes and the client's submit are in ./scripts.ts, with `script()` and `runScript()`.
 */
import { script, TRACE_FIELDS } from './scripts';

/**
 * KEYS: delayed zset, stream, dead-letter stream. ARGV: now, limit, deadLetterMaxLen, taskKeyPrefix (the type's
 * `…:task:` key prefix, same slot), then optionally ttlSec and channel (a task ended dead here expires and is
 * published like one DEAD_LETTER ends). Moves due retries back into the stream and points their task record at the
 * new entry, with the trace context of the failed run's entry (the member's `tp` / `ts`, when it has them), so the
 * retry joins the submitter's trace. A member that does not decode to what RETRY writes (JSON with a non-empty string id, a string payload
 * and whole-number attempt, max, timeout and at: written by hand, or by an incompatible version), or whose XADD
 * fails, is moved to the dead-letter stream with reason `malformed-retry` and the reason in `error`, instead of
 * raising: a raise here would abort the whole SWEEP and stall every retry and orphan recovery behind one member.
 * The task a dead-lettered member names ends `dead` with the reason. A task record that is not a hash is left alone.
 */
const PROMOTE_BODY = `
-- A whole number as RETRY writes it (a string of digits), or as a JSON number: its digits, else nil.
local function count(v)
  if type(v) == 'string' and string.match(v, '^%d+$') then return v end
  if type(v) == 'number' and v >= 0 and v == math.floor(v) and v < 2^53 then return string.format('%d', v) end
  return nil
end
local function retryProblem(ok, t)
  if not ok or type(t) ~= 'table' then return 'delayed retry member is not valid JSON' end
  if type(t.id) ~= 'string' or t.id == '' then return 'delayed retry member has no task id' end
  if type(t.payload) ~= 'string' then return 'delayed retry member has no string payload' end
  if not (count(t.attempt) and count(t.max) and count(t.timeout) and count(t.at)) then
    return 'delayed retry member has no whole-number attempt, max, timeout and at'
  end
  return nil
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local promoted = 0
for _, m in ipairs(due) do
  local ok, t = pcall(cjson.decode, m)
  local problem = retryProblem(ok, t)
  if not problem then
    local m = count(t.attempt) .. ' ' .. count(t.max) .. ' ' .. count(t.timeout) .. ' ' .. count(t.at)
    local added, entryId
    if type(t.tp) ~= 'string' then
      added, entryId = pcall(redis.call, 'XADD', KEYS[2], '*', 'id', t.id, 'payload', t.payload, 'm', m)
    elseif type(t.ts) ~= 'string' then
      added, entryId = pcall(redis.call, 'XADD', KEYS[2], '*', 'id', t.id, 'payload', t.payload, 'm', m,
        '${TRACE_FIELDS.traceparent}', t.tp)
    else
      added, entryId = pcall(redis.call, 'XADD', KEYS[2], '*', 'id', t.id, 'payload', t.payload, 'm', m,
        '${TRACE_FIELDS.traceparent}', t.tp, '${TRACE_FIELDS.tracestate}', t.ts)
    end
    if added then
      local taskKey = ARGV[4] .. t.id
      if redis.call('TYPE', taskKey)['ok'] == 'hash' then redis.call('HSET', taskKey, 'entry', entryId) end
      promoted = promoted + 1
    else
      problem = 'delayed retry member could not be re-enqueued: ' ..
        (type(entryId) == 'table' and tostring(entryId['err']) or tostring(entryId))
    end
  end
  if problem then
    local taskId = (ok and type(t) == 'table' and type(t.id) == 'string') and t.id or ''
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'id', taskId, 'entry', '', 'reason', 'malformed-retry',
      'error', problem, 'attempts', '0', 'payload', string.sub(m, 1, 65536), 'at', ARGV[1])
    -- Its task (if the member names one) ends dead with the reason rather than staying queued for ever.
    if taskId ~= '' and redis.call('TYPE', ARGV[4] .. taskId)['ok'] == 'hash' then
      local st = redis.call('HGET', ARGV[4] .. taskId, 'status')
      if st ~= 'succeeded' and st ~= 'dead' then
        redis.call('HSET', ARGV[4] .. taskId, 'status', 'dead', 'error', problem, 'finishedAt', ARGV[1])
        local idem = redis.call('HGET', ARGV[4] .. taskId, 'idem')
        if ARGV[5] then
          redis.call('EXPIRE', ARGV[4] .. taskId, ARGV[5])
          if idem then redis.call('EXPIRE', idem, ARGV[5]) end
        end
        if ARGV[6] then redis.call('PUBLISH', ARGV[6], taskId) end
      end
    end
  end
  redis.call('ZREM', KEYS[1], m)
end
return promoted
`;

export const PROMOTE = script('promote', PROMOTE_BODY);

/**
 * KEYS: stream. ARGV: group, consumer, ids… Resets the idle time of the entries this consumer still owns
 * (XCLAIM … JUSTID does not count a delivery), so a short min-idle time only catches dead consumers.
 * Returns {lost, missing}: ids another consumer has reclaimed, and ids still owned whose stream entry was deleted
 * (ids no longer pending at all were simply acknowledged meanwhile).
 */
export const KEEPALIVE = script(
  'keepalive',
  `
local mine, lost, missing = {}, {}, {}
for i = 3, #ARGV do
  local p = pendingOf(KEYS[1], ARGV[1], ARGV[i])
  if p then
    if p[2] ~= ARGV[2] then
      lost[#lost + 1] = ARGV[i]
    elseif redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i])[1] == nil then
      missing[#missing + 1] = ARGV[i]
    else
      mine[#mine + 1] = ARGV[i]
    end
  end
end
if #mine > 0 then
  -- JUSTID after the ids: unpack() only expands in last position (before another argument it gives one value).
  mine[#mine + 1] = 'JUSTID'
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, unpack(mine))
end
return {lost, missing}
`,
);

/**
 * The janitor's orphan sweep of one stream. KEYS: stream. ARGV: group, consumer, minIdleMs, cursor ('0-0' =
 * from the start), maxClaims, scanCount, maxDeliveries, and (optional) claims the caller made earlier in the same
 * sweep (SWEEP: they count for the last-chance rule below).
 * Looks at up to scanCount pending entries idle at least minIdleMs after the cursor and claims at most maxClaims
 * of them (the caller's free slots). An idle pending entry whose stream entry is gone is acknowledged (dropped
 * from the group) and reported.
 *
 * An entry on its last chance (its consumers died maxDeliveries - 1 times while holding it: one more death
 * dead-letters it) is claimed alone and the sweep stops there: the caller runs it in isolation (no other task
 * starts until it ends, and it starts once the running ones have ended), so if its consumer dies again the entry
 * itself is to blame, not a poison task that shared the process.
 * Without this an innocent task read alongside a poison one is counted every time the poison kills their consumer
 * and is dead-lettered with it. Entries past the limit are claimed as usual (the caller dead-letters them).
 * Returns {nextCursor, claimed, missing, isolated}: claimed = {id, deliveries (this claim included), fields, the
 * consumer that held it}…;
 * nextCursor '0-0' when the sweep reached the end; isolated 1 when the one claim is a last-chance entry.
 */
const RECLAIM_BODY = `
local start = (ARGV[4] == '0-0') and '-' or ('(' .. ARGV[4])
local scanCount = tonumber(ARGV[6])
local idle = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], start, '+', scanCount)
local maxClaims = tonumber(ARGV[5])
local lastChance = tonumber(ARGV[7]) - 1
local claimedBefore = tonumber(ARGV[8] or '0')
local claimed, missing = {}, {}
-- Where the next sweep goes on from: the last entry looked at (unchanged when none was).
local cursor = ARGV[4]
for _, p in ipairs(idle) do
  if #claimed >= maxClaims then return {cursor, claimed, missing, 0} end
  local id = p[1]
  local e = redis.call('XRANGE', KEYS[1], id, id)[1]
  if e == nil then
    redis.call('XACK', KEYS[1], ARGV[1], id)
    missing[#missing + 1] = id
  else
    local runs = p[4]
    for j = 1, #e[2], 2 do
      if e[2][j] == 'dlv' then runs = runs + (tonumber(e[2][j + 1]) or 0) end
    end
    -- A last-chance entry is claimed alone; after other claims the sweep stops before it (the next starts there).
    if runs == lastChance and #claimed + claimedBefore > 0 then return {cursor, claimed, missing, 0} end
    local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], id)
    if c[1] then
      claimed[#claimed + 1] = {id, p[4] + 1, c[1][2], p[2]}
      if runs == lastChance then return {id, claimed, missing, 1} end
    end
  end
  cursor = id
end
if #idle < scanCount then cursor = '0-0' end
return {cursor, claimed, missing, 0}
`;

export const RECLAIM = script('reclaim', RECLAIM_BODY);

/**
 * The janitor's record check of one task. KEYS: task hash, its express stream, standard stream, express dead-letter
 * stream, standard dead-letter stream (one tag: one slot). ARGV: now, lifeSec, ttlSec, channel, deadLetterMaxLen,
 * taskId.
 * A task that is still alive (queued or running) has its record and idempotency key's expiry renewed to lifeSec;
 * a queued one whose stream entry was deleted before any worker read it (`entry` names an entry the stream no longer
 * holds; a retry waiting in the delayed set has no entry) ends `dead` with reason `entry-deleted`, like a pending
 * entry found deleted. Returns 1 when it ended the task, else 0.
 */
export const CHECK_RECORD = script(
  'checkRecord',
  `
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return 0 end
local h = redis.call('HMGET', KEYS[1], 'status', 'entry', 'idem', 'lane', 'attempts')
local status, entry, idem, lane = h[1], h[2], h[3], h[4]
if status ~= 'queued' and status ~= 'running' then return 0 end
local stream, dead = KEYS[3], KEYS[5]
if lane == 'express' then stream, dead = KEYS[2], KEYS[4] end
if status == 'queued' and entry and entry ~= '' and redis.call('XRANGE', stream, entry, entry)[1] == nil then
  local err = 'stream entry ' .. entry .. ' was deleted before any worker read it; the payload is lost'
  redis.call('HSET', KEYS[1], 'status', 'dead', 'error', err, 'finishedAt', ARGV[1])
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  if idem then redis.call('EXPIRE', idem, ARGV[3]) end
  redis.call('XADD', dead, 'MAXLEN', '~', ARGV[5], '*', 'id', ARGV[6], 'entry', entry, 'reason', 'entry-deleted',
    'error', err, 'attempts', h[5] or '0', 'payload', 'null', 'at', ARGV[1])
  redis.call('PUBLISH', ARGV[4], ARGV[6])
  return 1
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if idem then redis.call('EXPIRE', idem, ARGV[2]) end
return 0
`,
);

/**
 * The janitor's whole sweep in one call: PROMOTE then RECLAIM for each stream of one slot (all of them on a single
 * Redis; one call per slot on a Cluster). KEYS: per stream, its delayed zset, stream and dead-letter stream. ARGV:
 * now, promoteLimit, deadLetterMaxLen, group, consumer, minIdleMs, maxClaims (shared by all the streams, in order),
 * scanCount, maxDeliveries, ttlSec, then per stream its taskKeyPrefix, cursor and completions channel. A last-chance entry claimed in one stream
 * (RECLAIM) ends the claims of the sweep; one met after claims in an earlier stream is left for the next sweep.
 * Returns per stream {promoted, nextCursor, claimed, missing, isolated, promoteError, reclaimError} (RECLAIM's; an
 * error is '' when that part ran). Each part of each stream runs under pcall: one stream whose keys are broken (a
 * key of the wrong type, say) reports its error and the sweep of the others goes on. One call instead of two per
 * stream: an idle worker's sweeps were most of the Redis commands and of the CPU an idle stack spends.
 */
export const SWEEP = script(
  'sweep',
  `
local function promote(KEYS, ARGV)
${PROMOTE_BODY}end
local function reclaim(KEYS, ARGV)
${RECLAIM_BODY}end
local function errorText(e)
  if type(e) == 'table' then return tostring(e['err'] or e[1]) end
  return tostring(e)
end
local out = {}
local free = tonumber(ARGV[7])
local claimedSoFar = 0
for i = 1, #KEYS / 3 do
  local delayed, stream, dead = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  local prefix, cursor, channel = ARGV[8 + 3 * i], ARGV[9 + 3 * i], ARGV[10 + 3 * i]
  local okP, promoted = pcall(promote, {delayed, stream, dead}, {ARGV[1], ARGV[2], ARGV[3], prefix, ARGV[10], channel})
  local okR, r = pcall(reclaim, {stream}, {ARGV[4], ARGV[5], ARGV[6], cursor, free, ARGV[8], ARGV[9], claimedSoFar})
  local promoteError = okP and '' or errorText(promoted)
  local reclaimError = okR and '' or errorText(r)
  if not okP then promoted = 0 end
  if not okR then r = {cursor, {}, {}, 0} end
  out[i] = {promoted, r[1], r[2], r[3], r[4], promoteError, reclaimError}
  free = free - #r[2]
  claimedSoFar = claimedSoFar + #r[2]
  if r[4] == 1 then free = 0 end
end
return out
`,
);

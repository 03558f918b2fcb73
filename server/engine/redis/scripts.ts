/**
 * Lua sources, run through ioredis `defineCommand` (EVALSHA with a NOSCRIPT fallback is the
 * library's job). Each runs atomically, so list order, id order and delivery order agree
 * across every server process.
 */

/** Redis server time in ms, as a string (exact: no floating point). */
const NOW_MS = `
local t = redis.call('TIME')
local now = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
`;

/**
 * appendMessage: check the cid, assign the id, LPUSH, LTRIM, remember the cid, PUBLISH.
 *
 * KEYS[1] history list   KEYS[2] seq counter   KEYS[3] epoch   KEYS[4] cid key (unused without a cid)
 * ARGV[1] the message's middle fields as JSON (`"room":…,"user":…,"text":…`)
 * ARGV[2] `,"cid":…` or ''    ARGV[3] history limit    ARGV[4] pub/sub channel
 * ARGV[5] an epoch to create if none exists    ARGV[6] cid TTL in seconds
 *
 * Returns { 1 if stored now or 0 for a repeated cid, the message JSON, the epoch }.
 * The JSON always starts `{"id":N,` so readers can take the id without parsing.
 */
export const APPEND_MESSAGE = `
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[3], epoch)
end
if ARGV[2] ~= '' then
  local first = redis.call('GET', KEYS[4])
  if first then
    return {0, first, epoch}
  end
end
${NOW_MS}
local id = redis.call('INCR', KEYS[2])
local json = '{"id":' .. string.format('%d', id) .. ',' .. ARGV[1] .. ',"ts":' .. now .. ARGV[2] .. '}'
redis.call('LPUSH', KEYS[1], json)
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[3]) - 1)
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[4], json, 'EX', tonumber(ARGV[6]))
end
redis.call('PUBLISH', ARGV[4], json)
return {1, json, epoch}
`;

/**
 * readSince: the epoch (created when missing), the counter, the list length, and the newest
 * messages a cursor needs (all of them without a usable cursor), newest first.
 *
 * KEYS[1] history list   KEYS[2] seq counter   KEYS[3] epoch
 * ARGV[1] an epoch to create if none exists   ARGV[2] since, or -1 for none
 * ARGV[3] the client's epoch, or ''
 *
 * Returns { epoch, seq, length, items }.
 */
export const READ_SINCE = `
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[3], epoch)
end
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
local since = tonumber(ARGV[2])
local want = len
if since >= 0 and (ARGV[3] == '' or ARGV[3] == epoch) then
  want = math.max(0, math.min(len, seq - since))
end
local items = {}
if want > 0 then
  items = redis.call('LRANGE', KEYS[1], 0, want - 1)
end
return {epoch, seq, len, items}
`;

/**
 * updatePresence: set this process's member count for a room, drop the counts of processes
 * that stopped refreshing theirs, and optionally PUBLISH a presence frame with the new total.
 *
 * KEYS[1] presence hash
 * ARGV[1] process id   ARGV[2] member count here   ARGV[3] how long the count holds (ms)
 * ARGV[4] channel, or '' to publish nothing   ARGV[5] frame text before the total
 * ARGV[6] frame text after the total
 *
 * Returns the total online across processes.
 */
export const UPDATE_PRESENCE = `
${NOW_MS}
local nowMs = tonumber(now)
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. string.format('%d', nowMs + tonumber(ARGV[3])))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local total = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local count, expires = string.match(all[i + 1], '^(%d+):(%d+)$')
  if count and tonumber(expires) > nowMs then
    total = total + tonumber(count)
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if ARGV[4] ~= '' then
  redis.call('PUBLISH', ARGV[4], ARGV[5] .. string.format('%d', total) .. ARGV[6])
end
return total
`;

/**
 * Lua sources, run through ioredis `defineCommand` (EVALSHA with a NOSCRIPT fallback is the
 * library's job). Each runs atomically, so list order, id order and delivery order agree
 * across every server process.
 *
 * The scripts that publish come in two variants with the same ARGV. On one Redis (the constants
 * without suffix) they PUBLISH to the channel named in ARGV. On Redis Cluster (`…_SHARDED`)
 * they SPUBLISH (sharded pub/sub, Redis ≥ 7) to the same channel passed once more as the last
 * KEY, so that cluster routing sees it: `chat:{ROOM}` shares the room's hash tag, hence its slot,
 * and a script may only publish to a shard channel of its own slot.
 */

/**
 * The statement that publishes `payload`: PUBLISH to ARGV[argvChannel] on one Redis, SPUBLISH
 * to KEYS[keyChannel] in the sharded variant.
 */
const publish = (sharded: boolean, argvChannel: number, keyChannel: number, payload: string): string =>
  sharded ? `redis.call('SPUBLISH', KEYS[${keyChannel}], ${payload})` : `redis.call('PUBLISH', ARGV[${argvChannel}], ${payload})`;

/** Redis server time in ms, as a string (exact: no floating point). */
const NOW_MS = `
local t = redis.call('TIME')
local now = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
`;

/**
 * Gives a room's keys (KEYS[1] to KEYS[3]: history, seq, epoch) HISTORY_TTL from now, so every
 * key of the room goes together that long after its last stored message (PROTOCOL.md v2 "Room
 * lifecycle"). ARGV[ttlArg] is the TTL in ms; 0 keeps the room forever, also one that an earlier
 * setting gave a TTL. The keys get the same deadline: time stands still inside a script.
 */
const keepRoomFor = (ttlArg: number) => `
local ttl = tonumber(ARGV[${ttlArg}])
for i = 1, 3 do
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[i], ttl)
  else
    redis.call('PERSIST', KEYS[i])
  end
end
`;

/**
 * appendMessage: check the cid, assign the id, LPUSH, LTRIM, remember the cid, PUBLISH, and
 * give the room's keys HISTORY_TTL. The first stored message creates the room's epoch (reads
 * never do: PROTOCOL.md v2 "The cursor, amended").
 *
 * The sender's bans are checked here, not in a command of their own before it: a send costs one
 * round trip to Redis, and a ban that lands between a check and the store cannot slip through.
 *
 * KEYS[1] history list   KEYS[2] seq counter   KEYS[3] epoch   KEYS[4] cid key (unused without a cid)
 * KEYS[5] the sender's ban by name   KEYS[6] by uid (KEYS[5] again without a uid)
 * ARGV[1] the message's middle fields as JSON (`"room":…,"user":…,"text":…`)
 * ARGV[2] `,"cid":…` or ''    ARGV[3] history limit    ARGV[4] pub/sub channel
 * ARGV[5] an epoch to create if none exists    ARGV[6] cid TTL in seconds (min(600, HISTORY_TTL))
 * ARGV[7] HISTORY_TTL in ms, 0 for none    ARGV[8] '1' to refuse a banned sender, '0' (the backend) not
 * Sharded variant: KEYS[7] the channel (ARGV[4] again), which it SPUBLISHes to.
 *
 * Returns { 1 if stored now or 0 for a repeated cid, the message JSON, the epoch }, or
 * { 2, '', '' } when the sender is banned (nothing stored, no key created).
 * The JSON always starts `{"id":N,` so readers can take the id without parsing.
 */
const appendMessage = (sharded: boolean): string => `
if ARGV[8] == '1' and redis.call('EXISTS', KEYS[5], KEYS[6]) > 0 then
  return {2, '', ''}
end
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  -- A room without its epoch is a new room. Whatever an old one left (keys an operator deleted
  -- one by one) must not carry its ids or this send's cid into the new epoch.
  epoch = ARGV[5]
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
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
${keepRoomFor(7)}
${publish(sharded, 4, 7, 'json')}
return {1, json, epoch}
`;
export const APPEND_MESSAGE = appendMessage(false);
export const APPEND_MESSAGE_SHARDED = appendMessage(true);

/**
 * readSince: the epoch, the counter, the list length, and the newest messages a cursor needs
 * (all of them without a usable cursor), newest first. It writes nothing: a room that never
 * stored a message (or whose keys expired) answers epoch '' and creates no key.
 *
 * KEYS[1] history list   KEYS[2] seq counter   KEYS[3] epoch
 * ARGV[1] since, or -1 for none   ARGV[2] the client's epoch, or '' for none known
 *
 * Returns { epoch or '', seq, length, items }.
 */
export const READ_SINCE = `
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  return {'', 0, 0, {}}
end
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
local since = tonumber(ARGV[1])
local want = len
if since >= 0 and (ARGV[2] == '' or ARGV[2] == epoch) then
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
 * The hash itself expires as its newest count does, so a room whose processes all died leaves
 * nothing behind.
 *
 * KEYS[1] presence hash
 * ARGV[1] process id   ARGV[2] member count here   ARGV[3] how long the count holds (ms)
 * ARGV[4] channel, or '' to publish nothing   ARGV[5] frame text before the total
 * ARGV[6] frame text after the total
 * Sharded variant: KEYS[2] the presence channel, always given (a key routes the script to the
 * room's slot); it SPUBLISHes there when ARGV[4] is not ''.
 *
 * Returns the total online across processes.
 */
const updatePresence = (sharded: boolean): string => `
${NOW_MS}
local nowMs = tonumber(now)
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. string.format('%d', nowMs + tonumber(ARGV[3])))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
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
  ${publish(sharded, 4, 2, "ARGV[5] .. string.format('%d', total) .. ARGV[6]")}
end
return total
`;
export const UPDATE_PRESENCE = updatePresence(false);
export const UPDATE_PRESENCE_SHARDED = updatePresence(true);

/**
 * deleteMessage: replace message N's entry by a tombstone and store a numbered delete event,
 * in one step (PROTOCOL.md v2 "Moderation"). Entries are canonical JSON written by this app, so
 * `"deleted":true`, `"kind":"delete"` and `,"ts":` can only appear as top-level fields (inside a
 * string value their quotes are escaped): plain searches are exact, and no JSON is re-encoded.
 *
 * KEYS[1] history list   KEYS[2] seq counter   KEYS[3] epoch
 * KEYS[4] the cid key of message N as the caller read it (READ_ENTRY), or KEYS[3] again without one
 * ARGV[1] N   ARGV[2] the room as a JSON string   ARGV[3] `"user":…[,"uid":…]` of the deleter
 * ARGV[4] history limit   ARGV[5] pub/sub channel   ARGV[6] entry N as the caller read it
 * ARGV[7] HISTORY_TTL in ms, 0 for none
 * Sharded variant: KEYS[5] the channel (ARGV[5] again), which it SPUBLISHes to.
 *
 * A cid remembered for N is pointed at the tombstone: the cid travels in the broadcast, so
 * anyone could otherwise resend it and read the deleted text back. Its key is one the caller
 * computed from the entry it read and declares, never one the script builds (on Redis Cluster
 * a script may only touch the keys it was given; during a slot migration any other may be gone);
 * an entry that is no longer what the caller read answers 4 and the caller reads again. The cid
 * key keeps its own TTL, which is never longer than the room's. A delete stores an event, so it
 * gives the room HISTORY_TTL again, like an append; in a room that does not exist it finds
 * nothing and writes nothing.
 *
 * Returns { status, json }: 1 stored (json: the new event), 2 deleted before (json: the first
 * delete event, or '' if it is no longer retained), 0 not retained, 3 N is a delete event,
 * 4 entry N is not what the caller read (read it again).
 */
const deleteMessage = (sharded: boolean): string => `
if redis.call('EXISTS', KEYS[3]) == 0 then
  return {0, ''}
end
local target = tonumber(ARGV[1])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
local len = redis.call('LLEN', KEYS[1])
local idx = seq - target
if target < 1 or idx < 0 or idx >= len then
  return {0, ''}
end
local entry = redis.call('LINDEX', KEYS[1], idx)
local head = '{"id":' .. string.format('%d', target) .. ','
if string.sub(entry, 1, #head) ~= head then
  return {0, ''}
end
if string.find(entry, '"kind":"delete"', 1, true) then
  return {3, ''}
end
if string.find(entry, '"deleted":true', 1, true) then
  local needle = '"kind":"delete","target":' .. string.format('%d', target) .. ','
  local newer = redis.call('LRANGE', KEYS[1], 0, idx - 1)
  for i = #newer, 1, -1 do
    if string.find(newer[i], needle, 1, true) then
      return {2, newer[i]}
    end
  end
  return {2, ''}
end
-- The user's JSON string, as stored: from its opening quote to the first unescaped quote.
if entry ~= ARGV[6] then
  return {4, ''}
end
local from = select(2, string.find(entry, ',"user":', 1, true)) + 1
local i = from + 1
local user
while true do
  local q = string.find(entry, '"', i, true)
  local k = q - 1
  local slashes = 0
  while string.sub(entry, k, k) == '\\\\' do
    slashes = slashes + 1
    k = k - 1
  end
  if slashes % 2 == 0 then
    user = string.sub(entry, from, q)
    break
  end
  i = q + 1
end
local ts = string.match(entry, ',"ts":(%d+)')
local tombstone = head .. '"room":' .. ARGV[2] .. ',"user":' .. user .. ',"deleted":true,"ts":' .. ts .. '}'
redis.call('LSET', KEYS[1], idx, tombstone)
if KEYS[4] ~= KEYS[3] and redis.call('GET', KEYS[4]) == entry then
  redis.call('SET', KEYS[4], tombstone, 'KEEPTTL')
end
${NOW_MS}
local id = redis.call('INCR', KEYS[2])
local json = '{"id":' .. string.format('%d', id) .. ',"room":' .. ARGV[2] .. ',' .. ARGV[3] ..
  ',"kind":"delete","target":' .. string.format('%d', target) .. ',"ts":' .. now .. '}'
redis.call('LPUSH', KEYS[1], json)
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[4]) - 1)
${keepRoomFor(7)}
${publish(sharded, 5, 5, 'json')}
return {1, json}
`;
export const DELETE_MESSAGE = deleteMessage(false);
export const DELETE_MESSAGE_SHARDED = deleteMessage(true);

/**
 * readEntry: message N's entry as stored (read-only), for the delete that follows it.
 *
 * KEYS[1] history list   KEYS[2] seq counter
 * ARGV[1] N
 *
 * Returns the entry, or '' when N is not in the retained history.
 */
export const READ_ENTRY = `
local target = tonumber(ARGV[1])
local idx = tonumber(redis.call('GET', KEYS[2]) or '0') - target
if target < 1 or idx < 0 then
  return ''
end
return redis.call('LINDEX', KEYS[1], idx) or ''
`;

/**
 * refreshMembers: re-assert this process's entries in a room's member hash with a new expiry,
 * and drop every entry (of any process) that expired: once per room per refresh, so a process
 * that died drops out of the presence list, and joins and leaves stay one HSET or HDEL each.
 * The hash expires with the entries just re-asserted (the newest), so no dead process keeps it.
 *
 * KEYS[1] member hash
 * ARGV[1] now (ms)   ARGV[2] the new expiry (ms)   ARGV[3], ARGV[4], …: field, entry JSON pairs
 */
export const REFRESH_MEMBERS = `
local nowMs = tonumber(ARGV[1])
for i = 3, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[2] .. '\\t' .. ARGV[i + 1])
end
if #ARGV >= 3 then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) - nowMs)
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local expires = tonumber(string.match(all[i + 1], '^(%d+)\\t'))
  if not expires or expires <= nowMs then
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return 1
`;

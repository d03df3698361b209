// The Lua scripts of the Redis store: each runs atomically on the node that owns its
// keys, and every key of one script shares a hash tag (one slot), so they work on a
// Redis Cluster too. Internal to the memo library; the layout they act on is described
// in core/include/memo/stores/redis.h.
//
// Two groups of keys, on two slots:
//   function keys, tag {N}:      memo:{N}:meta  hash  f = clear generation, tick = use
//                                                     counter, g = global generation the
//                                                     recency set was built under
//                                memo:{N}:lru   zset  key -> tick of last use
//                                memo:{N}:ver   hash  key -> write stamp it is counted for
//                                memo:{N}:gone  zset  key -> stamp of its last erased write
//                                                     (kept a minute: a late admission of
//                                                     that write, or an older one, is void)
//   entry keys, tag {N.K}:       memo:{N.K}:m   hash  the manifest (fields below)
//                                memo:{N.K}:c:<v>:<i> string  chunk i of version v
//                                memo:{N.K}:lease     string  the computing process's token
//                                memo:{N.K}:done      shard channel: lease released
// Manifest fields: g, f (generations it was written under), v (version id), n (payload
// bytes), k (chunks, 0 = inline), cs (chunk bytes), sum (XXH3-64 of messages + payload,
// 16 hex digits), msgs (the replayed messages), data (the payload when inline), t (the
// write's stamp: the server's clock in microseconds).
// Counting for max_entries happens on the function's slot, after the manifest went in on
// the key's: the stamp orders the two steps of racing writes and erases of one key, so an
// erase uncounts only the write it removed and a late admission never counts a write
// that was already replaced or erased.
//
// Scripts that only read, or write a few bytes of bookkeeping, carry `allow-oom`, so a
// server at maxmemory with noeviction still serves hits, leases and clears; the two
// that store a value do not (Redis then refuses them with -OOM: a warning, and the
// value is returned unstored).
#pragma once

#include <string>

#include "../redis/router.h"

namespace memo::detail::redis_scripts {

// Writes the manifest unless one as new or newer is there; every chunk must still
// exist. ARGV[a..a+9] = g f v n k cs sum msgs data px. Returns
//   {'stored', old v, old k, stamp}  or  {'exists', pttl, v, n, k, cs, sum, msgs, data}
//   or {'chunks_lost'}.
inline const std::string kStoreManifest = R"lua(
local function store_manifest(manifest, first_chunk, a)
  local cur = redis.call('HMGET', manifest, 'g', 'f', 'v', 'n', 'k', 'cs', 'sum', 'msgs', 'data')
  if cur[1] then
    local cg, cf = tonumber(cur[1]), tonumber(cur[2])
    local g, f = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    if cg > g or (cg == g and cf >= f) then
      return {'exists', redis.call('PTTL', manifest), cur[3], cur[4], cur[5], cur[6], cur[7], cur[8], cur[9]}
    end
  end
  for i = first_chunk, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 0 then return {'chunks_lost'} end
  end
  redis.call('DEL', manifest)
  local now = redis.call('TIME')
  local stamp = now[1] .. string.format('%06d', tonumber(now[2]))
  local fields = {'g', ARGV[a], 'f', ARGV[a + 1], 'v', ARGV[a + 2], 'n', ARGV[a + 3], 'k', ARGV[a + 4],
                  'cs', ARGV[a + 5], 'sum', ARGV[a + 6], 'msgs', ARGV[a + 7], 't', stamp}
  if ARGV[a + 4] == '0' then
    fields[#fields + 1] = 'data'
    fields[#fields + 1] = ARGV[a + 8]
  end
  redis.call('HSET', manifest, unpack(fields))
  -- The chunks were written with a safety expiry (a writer that dies leaves no
  -- garbage); now they live exactly as long as the manifest.
  local px = tonumber(ARGV[a + 9])
  if px > 0 then redis.call('PEXPIRE', manifest, px) end
  for i = first_chunk, #KEYS do
    if px > 0 then redis.call('PEXPIRE', KEYS[i], px) else redis.call('PERSIST', KEYS[i]) end
  end
  return {'stored', cur[3], cur[5], stamp}
end
)lua";

// KEYS: manifest, chunks...  ARGV: g f v n k cs sum msgs data px
// "#!lua" without allow-oom: a full server refuses the script before it runs, so it
// never stops half-way.
inline const redis::Script kInsert("#!lua" + kStoreManifest + R"lua(
return store_manifest(KEYS[1], 2, 1)
)lua");

// KEYS: manifest, lease, chunks...  ARGV: g f v n k cs sum msgs data px token channel
// Only the lease holder publishes (an erase or a lapse took the lease away: 'lost').
inline const redis::Script kPublish("#!lua" + kStoreManifest + R"lua(
if redis.call('GET', KEYS[2]) ~= ARGV[11] then return {'lost'} end
local result = store_manifest(KEYS[1], 3, 1)
if result[1] ~= 'chunks_lost' then
  redis.call('DEL', KEYS[2])
  redis.call('SPUBLISH', ARGV[12], 'published')
end
return result
)lua");

// KEYS: meta, lru  ARGV: key ('' = do not touch)  -> the clear generation
inline const redis::Script kFunctionRead(R"lua(#!lua flags=allow-oom
local f = redis.call('HGET', KEYS[1], 'f') or '0'
if ARGV[1] ~= '' and redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[1], 'tick', 1), ARGV[1])
end
return f
)lua");

// KEYS: manifest, lease  ARGV: g f token lease_ms
//   {'hit', pttl, v, n, k, cs, sum, msgs, data} | {'lease'} | {'wait', lease pttl}
inline const redis::Script kAcquire(R"lua(#!lua flags=allow-oom
local m = redis.call('HMGET', KEYS[1], 'g', 'f', 'v', 'n', 'k', 'cs', 'sum', 'msgs', 'data')
if m[1] == ARGV[1] and m[2] == ARGV[2] then
  return {'hit', redis.call('PTTL', KEYS[1]), m[3], m[4], m[5], m[6], m[7], m[8], m[9]}
end
local holder = redis.call('GET', KEYS[2])
if holder == ARGV[3] then return {'lease'} end
if not holder then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  return {'lease'}
end
return {'wait', redis.call('PTTL', KEYS[2])}
)lua");

// KEYS: lease  ARGV: token lease_ms  -> 1 renewed, 0 lost
inline const redis::Script kRenew(R"lua(#!lua flags=allow-oom
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
)lua");

// KEYS: lease  ARGV: token channel
inline const redis::Script kRelease(R"lua(#!lua flags=allow-oom
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SPUBLISH', ARGV[2], 'released')
  return 1
end
return 0
)lua");

// KEYS: manifest, lease  ARGV: g f expected_sum ('' = any) kill_lease channel
//   -> {removed (1 if a live entry went), old v, old k, old stamp}
// kill_lease: an in-flight computation started before this erase must not publish
// (its publish finds the lease gone), and its waiters are woken to start afresh.
inline const redis::Script kErase(R"lua(#!lua flags=allow-oom
local m = redis.call('HMGET', KEYS[1], 'g', 'f', 'v', 'k', 'sum', 't')
local removed, v, k, t = 0, false, false, false
if m[1] and (ARGV[3] == '' or ARGV[3] == m[5]) then
  redis.call('DEL', KEYS[1])
  v, k, t = m[3], m[4], m[6]
  if m[1] == ARGV[1] and m[2] == ARGV[2] then removed = 1 end
end
if ARGV[4] == '1' and redis.call('DEL', KEYS[2]) == 1 then
  redis.call('SPUBLISH', ARGV[5], 'erased')
end
return {removed, v, k, t}
)lua");

// KEYS: manifest  ARGV: f_bound g_bound version: deletes the manifest when f < f_bound
// or g < g_bound (f_bound 1e300: whatever is there), and only that version unless
// version is ''  -> {v, k} of what went, or {}
inline const redis::Script kDrop(R"lua(#!lua flags=allow-oom
local m = redis.call('HMGET', KEYS[1], 'g', 'f', 'v', 'k')
if not m[1] then return {} end
if ARGV[3] ~= '' and ARGV[3] ~= m[3] then return {} end
if tonumber(m[2]) < tonumber(ARGV[1]) or tonumber(m[1]) < tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return {m[3], m[4]}
end
return {}
)lua");

// KEYS: meta, lru, ver, gone  ARGV: f g key max_entries stamp
//   -> {1, stale keys, evicted keys} admitted (or void: a later write of the key is
//      counted already, or this write was erased); trimmed to max_entries, least
//      recently used first; stale keys: the set predates a global clear and was emptied
//   -> {0} the write is stale (a clear since it began): not admitted
inline const redis::Script kAdmit(R"lua(#!lua flags=allow-oom
local meta = redis.call('HMGET', KEYS[1], 'f', 'g')
if (meta[1] or '0') ~= ARGV[1] then return {0} end
local built_under = tonumber(meta[2] or '0')
local g = tonumber(ARGV[2])
if g < built_under then return {0} end
local stale, evicted = {}, {}
if g > built_under then
  -- A global clear happened since this set was built: its members are all stale.
  stale = redis.call('ZRANGE', KEYS[2], 0, -1)
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
  redis.call('HSET', KEYS[1], 'g', ARGV[2])
end
local stamp = tonumber(ARGV[5])
if tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0') > stamp or
   tonumber(redis.call('ZSCORE', KEYS[4], ARGV[3]) or '0') >= stamp then
  return {1, stale, evicted}
end
redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[1], 'tick', 1), ARGV[3])
redis.call('HSET', KEYS[3], ARGV[3], ARGV[5])
local max = tonumber(ARGV[4])
if max > 0 then
  local over = redis.call('ZCARD', KEYS[2]) - max
  if over > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[2], over)
    for i = 1, #popped, 2 do
      evicted[#evicted + 1] = popped[i]
      redis.call('HDEL', KEYS[3], popped[i])
    end
  end
end
return {1, stale, evicted}
)lua");

// KEYS: lru, ver, gone  ARGV: key stamp  -> 1 if the key stopped counting
// After an erase removed the manifest written at `stamp` ('' for a manifest without
// one): the key stops counting for max_entries unless a later write of it is counted
// already (an insert that raced in between), and the stamp is remembered for a minute so
// that this write's own admission, should it arrive only now, is void.
inline const redis::Script kForget(R"lua(#!lua flags=allow-oom
local erased = tonumber(ARGV[2] ~= '' and ARGV[2] or '0')
if erased > 0 then
  if tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0') > erased then return 0 end
  redis.call('ZADD', KEYS[3], 'GT', erased, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. tostring(erased - 60000000))
end
redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])
)lua");

// KEYS: meta, lru, ver, gone  -> {new f, keys that were live}
inline const redis::Script kClear(R"lua(#!lua flags=allow-oom
local f = redis.call('HINCRBY', KEYS[1], 'f', 1)
local members = redis.call('ZRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return {f, members}
)lua");

// KEYS: meta, lru  ARGV: g  -> entries counted for max_entries
inline const redis::Script kSize(R"lua(#!lua flags=allow-oom
if (redis.call('HGET', KEYS[1], 'g') or '0') ~= ARGV[1] then return 0 end
return redis.call('ZCARD', KEYS[2])
)lua");

}  // namespace memo::detail::redis_scripts

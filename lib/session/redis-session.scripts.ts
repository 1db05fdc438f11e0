/**
 * @internal Adds or refreshes one session in a user's index, a hash `sid → "<expiresAt>|<token>"`
 * (KEYS[1]; ARGV: sid, entry, ttl in ms, now in ms). The hash lives as long as its longest session;
 * expired entries are pruned when the hash reaches twice its size after the previous prune (the size
 * is kept in the field "\0p", which no session id can be), so a write costs O(1) amortized.
 */
export const INDEX_ADD_SCRIPT = `
local k = KEYS[1]
local added = redis.call('HSET', k, ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
if added == 1 then
  local n = redis.call('HLEN', k)
  local at = tonumber(redis.call('HGET', k, '\\0p') or '64')
  if n > at then
    local now = tonumber(ARGV[4])
    local all = redis.call('HGETALL', k)
    for i = 1, #all, 2 do
      local expires = tonumber(string.match(all[i + 1], '^(%d+)|'))
      if expires and expires <= now then redis.call('HDEL', k, all[i]) end
    end
    redis.call('HSET', k, '\\0p', math.max(64, 2 * redis.call('HLEN', k)))
  end
end
return added
`;

/**
 * @internal Removes index entries that still hold the value read earlier (KEYS[1]; ARGV: sid, entry,
 * sid, entry, ...): an entry rewritten since then belongs to a later save and stays for the next call.
 */
export const INDEX_RELEASE_SCRIPT = `
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then n = n + redis.call('HDEL', KEYS[1], ARGV[i]) end
end
if redis.call('HLEN', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], '\\0p') == 1 then redis.call('DEL', KEYS[1]) end
return n
`;

/**
 * @internal Replaces a session only if it still holds what was read (KEYS[1]; ARGV: old raw value,
 * new raw value, ttl in ms): 1 when written, 0 when the session is gone, -1 when it changed meanwhile.
 */
export const SESSION_REPLACE_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

/** @internal Names under which the scripts are registered on the ioredis client (EVALSHA with fallback). */
export const SESSION_COMMANDS = {
  indexAdd: { name: 'nestjsBackendsSessionIndexAdd', lua: INDEX_ADD_SCRIPT },
  indexRelease: { name: 'nestjsBackendsSessionIndexRelease', lua: INDEX_RELEASE_SCRIPT },
  replace: { name: 'nestjsBackendsSessionReplace', lua: SESSION_REPLACE_SCRIPT },
} as const;

/**
 * Atomic increment with TTL (ARGV[1] = delta, ARGV[2] = TTL in ms, 0 = none). A counter that the
 * increment brings from nothing (or from 0 without expiry) to `delta` takes the TTL in the same
 * step, so a counter is never left without it; an existing counter keeps its remaining TTL. One
 * INCRBY on the common path, as cheap as the classic INCR + PEXPIRE script.
 */
export const INCREMENT_SCRIPT = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == tonumber(ARGV[1]) and ARGV[2] ~= '0' and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return v
`;

/** Name under which the script is registered on the ioredis client (EVALSHA with NOSCRIPT fallback). */
export const INCREMENT_COMMAND = 'nestjsBackendsIncrBy';

/** The same script under a second name, which a standalone client sends outside its auto-pipeline. */
export const STREAMED_INCREMENT_COMMAND = 'nestjsBackendsIncrByNow';

/**
 * Atomic increment: a missing key is created with the TTL (ARGV[2], 0 = none) before INCRBY,
 * so a counter is never left without its TTL and an existing one keeps its remaining TTL.
 */
export const INCREMENT_SCRIPT = `
if ARGV[2] ~= '0' then
  redis.call('SET', KEYS[1], 0, 'PX', ARGV[2], 'NX')
end
return redis.call('INCRBY', KEYS[1], ARGV[1])
`;

/** Name under which the script is registered on the ioredis client (EVALSHA with NOSCRIPT fallback). */
export const INCREMENT_COMMAND = 'nestjsBackendsIncrBy';

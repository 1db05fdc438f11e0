import type { BackendHit } from '../backend.interface.js';

/** The counting step shared by the increment and hit scripts (ARGV[1] = delta), overflow guard included. */
const STEP = `
local d = tonumber(ARGV[1])
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
local safe = 9007199254740991
if v > safe or v < -safe or v - d > safe or v - d < -safe then
  redis.call('INCRBY', KEYS[1], string.format('%d', -d))
  local before = tonumber(redis.call('GET', KEYS[1]))
  if before > safe or before < -safe then
    return redis.error_reply('ERR the stored value is not a safe integer')
  end
  return redis.error_reply('ERR the result would overflow the safe integer range')
end
`;

/**
 * Atomic increment with TTL (ARGV[1] = delta, ARGV[2] = TTL in ms, 0 = none). A counter that the
 * increment brings from nothing (or from 0 without expiry) to `delta` takes the TTL in the same
 * step, so a counter is never left without it; an existing counter keeps its remaining TTL. One
 * INCRBY on the common path, as cheap as the classic INCR + PEXPIRE script.
 *
 * Counters stay within JavaScript's safe integers, as on the memory backend: an increment from or to
 * a value past 2^53 - 1 is undone in the same step and answered with an error (Lua numbers are
 * doubles, but a comparison with 2^53 - 1 is exact, and so is the rare re-read of the undone value).
 * Values past 2^52 are returned as text: ioredis' integer parser rounds those next to 2^53.
 */
export const INCREMENT_SCRIPT = `${STEP}if v == d and ARGV[2] ~= '0' and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if v > 4503599627370496 or v < -4503599627370496 then
  return string.format('%d', v)
end
return v
`;

/**
 * {@link INCREMENT_SCRIPT}'s step that also answers the remaining TTL (ARGV[2] = TTL in ms, never 0):
 * `{ count, pttl }`, the count as in {@link INCREMENT_SCRIPT}, pttl the TTL just given or what PTTL
 * reads after the step (-1 for an integer kept without expiry). One INCRBY and one PTTL, plus a
 * PEXPIRE for a new counter.
 */
export const HIT_SCRIPT = `${STEP}local t = redis.call('PTTL', KEYS[1])
if v == d and t == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  t = tonumber(ARGV[2])
end
if v > 4503599627370496 or v < -4503599627370496 then
  return {string.format('%d', v), t}
end
return {v, t}
`;

/** Name under which the script is registered on the ioredis client (EVALSHA with NOSCRIPT fallback). */
export const INCREMENT_COMMAND = 'nestjsBackendsIncrBy';

/** The same script under a second name, which a standalone client sends outside its auto-pipeline. */
export const STREAMED_INCREMENT_COMMAND = 'nestjsBackendsIncrByNow';

/** Name under which {@link HIT_SCRIPT} is registered on the ioredis client. */
export const HIT_COMMAND = 'nestjsBackendsHit';

/** {@link HIT_SCRIPT} under a second name, sent outside a standalone client's auto-pipeline. */
export const STREAMED_HIT_COMMAND = 'nestjsBackendsHitNow';

/** The count an increment script answered: a number, or its decimal text past 2^52 (exact either way). */
export function toCount(reply: number | string): number {
  return typeof reply === 'number' ? reply : Number(reply);
}

/** What {@link HIT_SCRIPT} answers, as the backend resolves it (PTTL -1 as `null`, 0 as 1). */
export function toHit(reply: [number | string, number]): BackendHit {
  const ms = reply[1];
  return { count: toCount(reply[0]), ttlMs: ms === -1 ? null : Math.max(1, ms) };
}

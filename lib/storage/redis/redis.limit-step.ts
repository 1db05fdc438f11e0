import type { LimitStepReply, LimitStepRequest, LimitStepState } from '../limit-step.interface.js';

/**
 * The throttler's multi-limit step in one script (see {@link LimitStepBackend}). KEYS: three per
 * limit (counter or bucket, previous counter, block marker; unused ones repeat the first). ARGV:
 * cost, now, then five per limit: kind (f, s, b), limit, window ms, ms left in the window, block ms.
 * Every limit is read and judged first; then all are counted, or none is and each refused limit with
 * a block starts it (value: its end, on the caller's clock) and forgets its counter. Replies
 * `{ allowed, then per limit: fits, count (bucket: units), previous, blocked ms }`. All arithmetic is
 * on whole numbers within 2^53 (the throttler checks `limit × window` when it parses a rate).
 */
export const LIMIT_STEP_SCRIPT = `
local cost = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local n = #KEYS / 3
local st = {}
local all = 1
for i = 1, n do
  local a = 2 + (i - 1) * 5
  local kind = ARGV[a + 1]
  local limit = tonumber(ARGV[a + 2])
  local win = tonumber(ARGV[a + 3])
  local reset = tonumber(ARGV[a + 4])
  local block = tonumber(ARGV[a + 5])
  local k = KEYS[(i - 1) * 3 + 1]
  local blocked = 0
  if block > 0 then
    local untilv = tonumber(redis.call('GET', KEYS[(i - 1) * 3 + 3]) or '0') or 0
    if untilv > now then blocked = untilv - now end
  end
  local count, prev, at, fits = 0, 0, now, false
  if kind == 'b' then
    local cap = limit * win
    local v = redis.call('HMGET', k, 'u', 'a')
    count = tonumber(v[1])
    at = tonumber(v[2])
    if count == nil or at == nil then
      count = cap
      at = now
    end
    if now > at then
      count = math.min(cap, count + (now - at) * limit)
      at = now
    end
    fits = count >= cost * win
  else
    count = tonumber(redis.call('GET', k) or '0') or 0
    if count < 0 then count = 0 end
    if kind == 's' then
      prev = tonumber(redis.call('GET', KEYS[(i - 1) * 3 + 2]) or '0') or 0
      if prev < 0 then prev = 0 end
      local el = win - reset
      if el < 0 then el = 0 end
      fits = limit * win - prev * (win - el) - (count + cost) * win >= 0
    else
      fits = count + cost <= limit
    end
  end
  if blocked > 0 then fits = false end
  if not fits then all = 0 end
  st[i] = { kind, count, prev, blocked, fits, at, limit, win, reset, block }
end
local out = { all }
for i = 1, n do
  local s = st[i]
  local k = KEYS[(i - 1) * 3 + 1]
  if all == 1 then
    if s[1] == 'b' then
      local u = s[2] - cost * s[8]
      redis.call('HSET', k, 'u', string.format('%d', u), 'a', string.format('%d', s[6]))
      local full = math.ceil((s[7] * s[8] - u) / s[7])
      if full < 1 then full = 1 end
      redis.call('PEXPIRE', k, full)
      s[2] = u
    else
      local ttl = s[9]
      if s[1] == 's' then ttl = s[9] + s[8] end
      local v = redis.call('INCRBY', k, ARGV[1])
      if v == cost and redis.call('PTTL', k) == -1 then redis.call('PEXPIRE', k, ttl) end
      s[2] = v
    end
  elseif (not s[5]) and s[4] == 0 and s[10] > 0 then
    redis.call('SET', KEYS[(i - 1) * 3 + 3], string.format('%d', now + s[10]), 'PX', s[10])
    redis.call('DEL', k)
    if s[1] == 's' then redis.call('DEL', KEYS[(i - 1) * 3 + 2]) end
    s[4] = s[10]
  end
  local f = 0
  if s[5] then f = 1 end
  out[#out + 1] = f
  out[#out + 1] = s[2]
  out[#out + 1] = s[3]
  out[#out + 1] = s[4]
end
return out
`;

/** Name under which the step script is registered on the ioredis client (EVALSHA with NOSCRIPT fallback). */
export const LIMIT_STEP_COMMAND = 'nestjsBackendsLimitStep';

const KIND_CODE = { fixed: 'f', sliding: 's', bucket: 'b' } as const;

/** The script's keys (with `prefix`) and arguments for `request`. */
export function limitStepArguments(request: LimitStepRequest, prefix: string): { keys: string[]; args: string[] } {
  const keys: string[] = [];
  const args: string[] = [String(request.cost), String(request.now)];
  for (const e of request.entries) {
    const key = prefix + e.key;
    keys.push(key, e.previousKey === undefined ? key : prefix + e.previousKey);
    keys.push(e.blockKey === undefined ? key : prefix + e.blockKey);
    const blockMs = e.blockKey === undefined ? 0 : e.blockMs;
    args.push(KIND_CODE[e.kind], String(e.limit), String(e.windowMs), String(e.resetMs), String(blockMs));
  }
  return { keys, args };
}

/** The script's reply as a {@link LimitStepReply}. */
export function limitStepReply(reply: unknown): LimitStepReply {
  const values = (reply as (number | string)[]).map(Number);
  const states: LimitStepState[] = [];
  for (let i = 1; i + 3 < values.length; i += 4) {
    states.push({ fits: values[i] === 1, count: values[i + 1], previous: values[i + 2], blockedMs: values[i + 3] });
  }
  return { allowed: values[0] === 1, states };
}

-- Fixed-window request counters (server/ratelimit): the calls of one batch
-- whose keys share one hash slot, each checked and counted in turn as if
-- sent alone. Every distinct key is read once and written once.
--
-- KEYS              the distinct counters of the batch
-- ARGV[1]           number of calls
-- then per call     n, then n triples: key index (into KEYS), limit, window ms
--
-- A call is admitted when none of its counters is at its limit; then every
-- one of its counters counts it. A refused call counts nowhere. Answer:
-- three numbers per call: 0 (admitted) or the 1-based position of the
-- first counter at its limit; that counter's count (or the first
-- counter's, this call included, when admitted); milliseconds until that
-- counter's window ends.
local count, ttl, window, add = {}, {}, {}, {}

local function load(k)
  if count[k] == nil then
    count[k] = tonumber(redis.call('GET', KEYS[k]) or '0')
    add[k] = 0
  end
end

-- the time left in k's window: a new counter's window starts now
local function left(k)
  if ttl[k] == nil then
    if count[k] - add[k] == 0 then
      ttl[k] = window[k]
    else
      ttl[k] = redis.call('PTTL', KEYS[k])
      if ttl[k] < 0 then -- never left without an expiry, whatever wrote it
        ttl[k] = window[k]
        redis.call('PEXPIRE', KEYS[k], ttl[k])
      end
    end
  end
  return ttl[k]
end

local out = {}
local p = 2
for _ = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[p])
  local first = p + 1
  p = first + 3 * n
  local blocked, bk = 0, 0
  for j = 1, n do
    local at = first + 3 * (j - 1)
    local k = tonumber(ARGV[at])
    load(k)
    if window[k] == nil then window[k] = tonumber(ARGV[at + 2]) end
    if blocked == 0 and count[k] >= tonumber(ARGV[at + 1]) then
      blocked, bk = j, k
    end
  end
  if blocked > 0 then
    out[#out + 1] = blocked
    out[#out + 1] = count[bk]
    out[#out + 1] = left(bk)
  else
    for j = 1, n do
      local k = tonumber(ARGV[first + 3 * (j - 1)])
      count[k] = count[k] + 1
      add[k] = add[k] + 1
    end
    local k1 = tonumber(ARGV[first])
    out[#out + 1] = 0
    out[#out + 1] = count[k1]
    out[#out + 1] = left(k1)
  end
end

for k, a in pairs(add) do
  if a > 0 then
    local v = redis.call('INCRBY', KEYS[k], a)
    if v == a then -- created by this batch
      redis.call('PEXPIRE', KEYS[k], window[k])
    end
  end
end
return out

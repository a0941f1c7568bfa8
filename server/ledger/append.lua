-- consentd ledger: append a batch of consent records for ONE site, atomically.
-- Either every record of the batch (entry + latest state + history + counters) is written, or none is.
--
-- KEYS[1]  stream c:{site}:log
-- KEYS[2]  hash   c:{site}:notices
-- then 4 keys per record: visitor hash, daily counter hash, idempotency key, history list
--
-- ARGV[1]  number of records
-- ARGV[2]  number of notice snapshots that follow as (version, json) pairs
-- ARGV[3]  visitor state TTL (s)
-- ARGV[4]  daily counter TTL (s)
-- ARGV[5]  idempotency key TTL (s)
-- ARGV[6]  history TTL (s): the site's log retention
-- then the snapshot pairs, then per record:
--   record JSON, receipt ("" when the request had no idempotency key),
--   ncounters, counter field names...
--
-- Returns one entry per record: {1, streamID} when written,
-- {0, storedReceipt} when the idempotency key had been seen.

local nrec = tonumber(ARGV[1])
local vttl, cttl, ittl, httl = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local a = 7
for i = 1, tonumber(ARGV[2]) do
  redis.call('HSETNX', KEYS[2], ARGV[a], ARGV[a + 1])
  a = a + 2
end

local out = {}
local counters = {} -- daily key -> {field -> increment}
local k = 3
for r = 1, nrec do
  local vkey, dkey, ikey, hkey = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  k = k + 4
  local record, receipt = ARGV[a], ARGV[a + 1]
  local nc = tonumber(ARGV[a + 2])
  local cstart = a + 3
  a = cstart + nc

  local prev = false
  if receipt ~= '' then
    prev = redis.call('GET', ikey)
  end
  if prev then
    out[r] = {0, prev}
  else
    local id = redis.call('XADD', KEYS[1], '*', 'v', '1', 'record', record)
    redis.call('HSET', vkey, 'stream_id', id, 'record', record)
    redis.call('EXPIRE', vkey, vttl)
    redis.call('RPUSH', hkey, id)
    redis.call('EXPIRE', hkey, httl)
    local c = counters[dkey]
    if not c then
      c = {}
      counters[dkey] = c
    end
    for j = cstart, cstart + nc - 1 do
      c[ARGV[j]] = (c[ARGV[j]] or 0) + 1
    end
    if receipt ~= '' then
      redis.call('SET', ikey, receipt .. '|' .. id, 'EX', ittl)
    end
    out[r] = {1, id}
  end
end

for dkey, c in pairs(counters) do
  for field, n in pairs(c) do
    redis.call('HINCRBY', dkey, field, n)
  end
  redis.call('EXPIRE', dkey, cttl)
end
return out

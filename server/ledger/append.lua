-- consentd ledger: append a batch of consent records for ONE site, atomically.
-- Either every record of the batch (entry + latest state + counters) is written, or none is.
--
-- KEYS[1]  stream c:{site}:log
-- KEYS[2]  hash   c:{site}:notices
-- then 3 keys per record: visitor hash, daily counter hash, idempotency key
--
-- ARGV[1]  number of records
-- ARGV[2]  number of notice snapshots that follow (version, json) pairs
-- then the snapshot pairs, then per record:
--   hasIdem ("1"/"0"), idemTTL (s), receipt, visitorTTL (s), counterTTL (s),
--   nfields, field/value pairs..., ncounters, counter names...
--
-- Returns one entry per record: {1, streamID} when written,
-- {0, storedReceipt} when the idempotency key had been seen.

local nrec = tonumber(ARGV[1])
local nsnap = tonumber(ARGV[2])
local a = 3
for i = 1, nsnap do
  redis.call('HSETNX', KEYS[2], ARGV[a], ARGV[a + 1])
  a = a + 2
end

local out = {}
local counters = {}   -- daily key -> {field -> increment}
local counterTTL = {} -- daily key -> ttl
local k = 3
for r = 1, nrec do
  local vkey, dkey, ikey = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  k = k + 3
  local hasIdem = ARGV[a] == '1'
  local idemTTL = ARGV[a + 1]
  local receipt = ARGV[a + 2]
  local vttl = ARGV[a + 3]
  local cttl = ARGV[a + 4]
  local nf = tonumber(ARGV[a + 5])
  local fstart = a + 6
  local fend = fstart + nf - 1
  local nc = tonumber(ARGV[fend + 1])
  local cstart = fend + 2
  a = cstart + nc

  local prev = false
  if hasIdem then
    prev = redis.call('GET', ikey)
  end
  if prev then
    out[r] = {0, prev}
  else
    local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, fstart, fend))
    redis.call('HSET', vkey, 'stream_id', id, unpack(ARGV, fstart, fend))
    redis.call('EXPIRE', vkey, vttl)
    local c = counters[dkey]
    if not c then
      c = {}
      counters[dkey] = c
    end
    counterTTL[dkey] = cttl
    for j = cstart, cstart + nc - 1 do
      c[ARGV[j]] = (c[ARGV[j]] or 0) + 1
    end
    if hasIdem then
      redis.call('SET', ikey, receipt .. '|' .. id, 'EX', idemTTL)
    end
    out[r] = {1, id}
  end
end

for dkey, c in pairs(counters) do
  for field, n in pairs(c) do
    redis.call('HINCRBY', dkey, field, n)
  end
  redis.call('EXPIRE', dkey, counterTTL[dkey])
end
return out

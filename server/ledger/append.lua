-- consentd ledger: append a batch of consent records for ONE site, atomically.
-- Either every record of the batch (entry + visitor state + counters + batch signature + chain
-- head) is written, or none is.
--
-- KEYS[1]  stream c:{site}:log
-- KEYS[2]  hash   c:{site}:notices
-- KEYS[3]  string c:{site}:head    ("<seq> <hash>" of the site's last record; absent: empty chain)
-- KEYS[4]  string c:{site}:turn    (the instance that lost the last race for the head; see below)
-- KEYS[5]  stream c:{site}:batches (one entry per signed batch)
-- then ARGV[3] daily counter hashes c:{site}:d:{day}
-- then 1 key per record: its visitor hash c:{site}:v:{consentId}
--
-- ARGV[1]  number of records
-- ARGV[2]  number of notice snapshots that follow as (version, json) pairs
-- ARGV[3]  number of daily counter hashes
-- ARGV[4]  daily counter TTL (s)
-- ARGV[5]  visitor hash TTL (s): the site's log retention
-- ARGV[6]  the head the batch was chained on ("0 <64 zeros>" for an empty chain)
-- ARGV[7]  the head after the batch (its last record)
-- ARGV[8]  this instance's token
-- ARGV[9]  turn TTL (ms)
-- ARGV[10] consent ID limit window (ms)
-- ARGV[11] now (unix ms)
-- ARGV[12..17] the signed batch: seq of its first record, key ID, signing time, signature,
--          Merkle root, the records' hashes (hex, concatenated)
-- then the snapshot pairs;
-- then per daily counter hash: nfields, then (field, increment) pairs: the batch's counters,
--   summed by the caller;
-- then per record: record JSON, Idempotency-Key ("" without one), idempotency value prefix,
--   choices JSON, method, consent ID limit (0: not limited).
--
-- Each record's entry names its batch (field "b": the batch entry's ID): the receipt is rebuilt
-- from the batch entry, not stored with every record (docs/proof.md, "Storage").
--
-- The visitor hash keeps, besides the visitor's state and decisions (keys.go, VisitorKey):
--   "i:<Idempotency-Key>"  "<prefix>|<streamID>" (idempotency.go), so a retry is stored once;
--   "l"                    "<window start ms>:<count>": the decisions counted against the
--                          consent ID limit in the current window (only records with a limit).
--
-- Nothing is written unless the chain head is the one the batch was chained on, no record's
-- idempotency key has been seen and no record is over its consent ID limit. Fairness between
-- instances: the first batch that finds another head takes the turn; while another instance
-- holds the turn, a batch is refused too, so an instance that keeps losing to a faster one gets
-- through on its next attempt. Returns
--   {1, {streamID...}}                     written, one ID per record
--   {0, currentHead, {i, storedValue, ...}, why, {i, retryMs, ...}}
--                                          nothing written: the caller re-chains the records on
--                                          currentHead, leaving out the duplicates i (1-based),
--                                          answered with the stored values, and the records i
--                                          over their limit (retry after retryMs), and sends
--                                          them again; why is 'head' (another head), 'turn'
--                                          (another instance has the turn: wait a moment),
--                                          'dup' or 'limit'.

local nrec = tonumber(ARGV[1])
local cttl, vttl = ARGV[4], ARGV[5]
local genesis = '0 0000000000000000000000000000000000000000000000000000000000000000'
local nsnap = tonumber(ARGV[2])
local ndaily = tonumber(ARGV[3])
local me = ARGV[8]
local window, now = tonumber(ARGV[10]), tonumber(ARGV[11])
-- Where the per-record arguments and keys start.
local first = 18 + 2 * nsnap
for d = 1, ndaily do
  first = first + 1 + 2 * tonumber(ARGV[first])
end
local firstKey = 6 + ndaily

-- 1. Check, write nothing yet. limits: visitor hash -> {window start, count} after this
-- batch's admitted records.
local head = redis.call('GET', KEYS[3]) or genesis
local dups, limited, limits = {}, {}, {}
local k, a = firstKey, first
for r = 1, nrec do
  local vkey, idem, limit = KEYS[k], ARGV[a + 1], tonumber(ARGV[a + 5])
  if idem ~= '' or limit > 0 then
    local got = redis.call('HMGET', vkey, 'i:' .. idem, 'l')
    if idem ~= '' and got[1] then
      dups[#dups + 1] = r
      dups[#dups + 1] = got[1]
    elseif limit > 0 then
      local l = limits[vkey]
      if not l then
        l = {now, 0}
        local start, n = string.match(got[2] or '', '^(%d+):(%d+)$')
        if start and tonumber(start) + window > now then
          l = {tonumber(start), tonumber(n)}
        end
      end
      if l[2] >= limit then
        limited[#limited + 1] = r
        limited[#limited + 1] = l[1] + window - now
      else
        limits[vkey] = {l[1], l[2] + 1}
      end
    end
  end
  k = k + 1
  a = a + 6
end
local turn = redis.call('GET', KEYS[4])
if head ~= ARGV[6] then
  if not turn then
    redis.call('SET', KEYS[4], me, 'PX', ARGV[9])
  end
  return {0, head, dups, 'head', limited}
end
if turn and turn ~= me then
  return {0, head, dups, 'turn', limited}
end
if #dups > 0 then
  return {0, head, dups, 'dup', limited}
end
if #limited > 0 then
  return {0, head, dups, 'limit', limited}
end

-- 2. Write.
a = 18
for i = 1, nsnap do
  redis.call('HSETNX', KEYS[2], ARGV[a], ARGV[a + 1])
  a = a + 2
end
for d = 1, ndaily do
  local dkey = KEYS[5 + d]
  local nf = tonumber(ARGV[a])
  a = a + 1
  for j = 1, nf do
    redis.call('HINCRBY', dkey, ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  redis.call('EXPIRE', dkey, cttl)
end
local bid = redis.call('XADD', KEYS[5], '*', 'v', '1', 'seq', ARGV[12], 'kid', ARGV[13], 'time', ARGV[14],
  'sig', ARGV[15], 'root', ARGV[16], 'leaves', ARGV[17])
local ids = {}
k = firstKey
for r = 1, nrec do
  local vkey = KEYS[k]
  k = k + 1
  local record, idem, prefix, choices, method = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  local limit = tonumber(ARGV[a + 5])
  a = a + 6

  local id = redis.call('XADD', KEYS[1], '*', 'v', '2', 'record', record, 'b', bid)
  -- The visitor's latest state, their decisions' stream IDs (fields) for look-ups, the
  -- request's idempotency value and the consent ID limit's count.
  local f = {'stream_id', id, 'choices', choices, id, method}
  if idem ~= '' then
    f[#f + 1] = 'i:' .. idem
    f[#f + 1] = prefix .. '|' .. id
  end
  if limit > 0 then
    local l = limits[vkey]
    f[#f + 1] = 'l'
    f[#f + 1] = l[1] .. ':' .. l[2]
  end
  redis.call('HSET', vkey, unpack(f))
  redis.call('EXPIRE', vkey, vttl)
  ids[r] = id
end

redis.call('SET', KEYS[3], ARGV[7])
if turn == me then
  redis.call('DEL', KEYS[4])
end
return {1, ids}

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
-- then 2 keys per record: idempotency key, visitor hash c:{site}:v:{consentId}
--
-- ARGV[1]  number of records
-- ARGV[2]  number of notice snapshots that follow as (version, json) pairs
-- ARGV[3]  number of daily counter hashes
-- ARGV[4]  daily counter TTL (s)
-- ARGV[5]  idempotency key TTL (s)
-- ARGV[6]  visitor hash TTL (s): the site's log retention
-- ARGV[7]  the head the batch was chained on ("0 <64 zeros>" for an empty chain)
-- ARGV[8]  the head after the batch (its last record)
-- ARGV[9]  this instance's token
-- ARGV[10] turn TTL (ms)
-- ARGV[11..16] the signed batch: seq of its first record, key ID, signing time, signature,
--          Merkle root, the records' hashes (hex, concatenated)
-- then the snapshot pairs;
-- then per daily counter hash: nfields, then (field, increment) pairs: the batch's counters,
--   summed by the caller;
-- then per record: record JSON, idempotency prefix ("" when the request had no idempotency
--   key), choices JSON, method.
--
-- Each record's entry names its batch (field "b": the batch entry's ID): the receipt is rebuilt
-- from the batch entry, not stored with every record (docs/proof.md, "Storage"). The
-- idempotency key holds "<prefix>|<streamID>" (idempotency.go).
--
-- Nothing is written unless the chain head is the one the batch was chained on and no record's
-- idempotency key has been seen. Fairness between instances: the first batch that finds another
-- head takes the turn; while another instance holds the turn, a batch is refused too, so an
-- instance that keeps losing to a faster one gets through on its next attempt. Returns
--   {1, {streamID...}}                              written, one ID per record
--   {0, currentHead, {i, storedReceipt, ...}, why}  nothing written: the caller re-chains the
--                                                   records on currentHead, leaving out the
--                                                   duplicates i (1-based) it answers with the
--                                                   stored receipts, and sends them again; why is
--                                                   'head' (another head), 'turn' (another
--                                                   instance has the turn: wait a moment) or 'dup'.

local nrec = tonumber(ARGV[1])
local cttl, ittl, vttl = ARGV[4], ARGV[5], ARGV[6]
local genesis = '0 0000000000000000000000000000000000000000000000000000000000000000'
local nsnap = tonumber(ARGV[2])
local ndaily = tonumber(ARGV[3])
local me = ARGV[9]
-- Where the per-record arguments and keys start.
local first = 17 + 2 * nsnap
for d = 1, ndaily do
  first = first + 1 + 2 * tonumber(ARGV[first])
end
local firstKey = 6 + ndaily

-- 1. Check, write nothing yet.
local head = redis.call('GET', KEYS[3]) or genesis
local dups = {}
local k, a = firstKey, first
for r = 1, nrec do
  if ARGV[a + 1] ~= '' then
    local prev = redis.call('GET', KEYS[k])
    if prev then
      dups[#dups + 1] = r
      dups[#dups + 1] = prev
    end
  end
  k = k + 2
  a = a + 4
end
local turn = redis.call('GET', KEYS[4])
if head ~= ARGV[7] then
  if not turn then
    redis.call('SET', KEYS[4], me, 'PX', ARGV[10])
  end
  return {0, head, dups, 'head'}
end
if turn and turn ~= me then
  return {0, head, dups, 'turn'}
end
if #dups > 0 then
  return {0, head, dups, 'dup'}
end

-- 2. Write.
a = 17
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
local bid = redis.call('XADD', KEYS[5], '*', 'v', '1', 'seq', ARGV[11], 'kid', ARGV[12], 'time', ARGV[13],
  'sig', ARGV[14], 'root', ARGV[15], 'leaves', ARGV[16])
local ids = {}
k = firstKey
for r = 1, nrec do
  local ikey, vkey = KEYS[k], KEYS[k + 1]
  k = k + 2
  local record, idem, choices, method = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  a = a + 4

  local id = redis.call('XADD', KEYS[1], '*', 'v', '2', 'record', record, 'b', bid)
  -- The visitor's latest state, and their decisions' stream IDs (fields) for look-ups.
  redis.call('HSET', vkey, 'stream_id', id, 'choices', choices, id, method)
  redis.call('EXPIRE', vkey, vttl)
  if idem ~= '' then
    redis.call('SET', ikey, idem .. '|' .. id, 'EX', ittl)
  end
  ids[r] = id
end

redis.call('SET', KEYS[3], ARGV[8])
if turn == me then
  redis.call('DEL', KEYS[4])
end
return {1, ids}

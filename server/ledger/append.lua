-- consentd ledger: append a batch of consent records for ONE site, atomically.
-- Either every record of the batch (entry + latest state + history + counters + chain head) is
-- written, or none is.
--
-- KEYS[1]  stream c:{site}:log
-- KEYS[2]  hash   c:{site}:notices
-- KEYS[3]  string c:{site}:head  ("<seq> <hash>" of the site's last record; absent: empty chain)
-- KEYS[4]  string c:{site}:turn  (the instance that lost the last race for the head; see below)
-- then 4 keys per record: visitor hash, daily counter hash, idempotency key, history list
--
-- ARGV[1]  number of records
-- ARGV[2]  number of notice snapshots that follow as (version, json) pairs
-- ARGV[3]  visitor state TTL (s)
-- ARGV[4]  daily counter TTL (s)
-- ARGV[5]  idempotency key TTL (s)
-- ARGV[6]  history TTL (s): the site's log retention
-- ARGV[7]  "1": chained (check and move the head); "0": unchained (benchmark baseline only)
-- ARGV[8]  the head the batch was chained on ("0 <64 zeros>" for an empty chain)
-- ARGV[9]  the head after the batch (its last record)
-- ARGV[10] this instance's token
-- ARGV[11] turn TTL (ms)
-- then the snapshot pairs, then per record:
--   record JSON, idempotency prefix ("" when the request had no idempotency key),
--   receipt JSON ("" unchained), ncounters, counter field names...
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
local vttl, cttl, ittl, httl = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local chained = ARGV[7] == '1'
local genesis = '0 0000000000000000000000000000000000000000000000000000000000000000'
local nsnap = tonumber(ARGV[2])
local first = 12 + 2 * nsnap
local me = ARGV[10]

-- 1. Check, write nothing yet.
local head = redis.call('GET', KEYS[3]) or genesis
local dups = {}
local k, a = 4, first
for r = 1, nrec do
  local ikey = KEYS[k + 3]
  if ARGV[a + 1] ~= '' then
    local prev = redis.call('GET', ikey)
    if prev then
      dups[#dups + 1] = r
      dups[#dups + 1] = prev
    end
  end
  k = k + 4
  a = a + 4 + tonumber(ARGV[a + 3])
end
local turn = false
if chained then
  turn = redis.call('GET', KEYS[4])
  if head ~= ARGV[8] then
    if not turn then
      redis.call('SET', KEYS[4], me, 'PX', ARGV[11])
    end
    return {0, head, dups, 'head'}
  end
  if turn and turn ~= me then
    return {0, head, dups, 'turn'}
  end
end
if #dups > 0 then
  return {0, head, dups, 'dup'}
end

-- 2. Write.
a = 12
for i = 1, nsnap do
  redis.call('HSETNX', KEYS[2], ARGV[a], ARGV[a + 1])
  a = a + 2
end
local ids = {}
local counters = {} -- daily key -> {field -> increment}
k = 5
for r = 1, nrec do
  local vkey, dkey, ikey, hkey = KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  k = k + 4
  local record, idem, receipt = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  local nc = tonumber(ARGV[a + 3])
  local cstart = a + 4
  a = cstart + nc

  local id
  if chained then
    id = redis.call('XADD', KEYS[1], '*', 'v', '2', 'record', record, 'receipt', receipt)
  else
    id = redis.call('XADD', KEYS[1], '*', 'v', '2', 'record', record)
  end
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
  if idem ~= '' then
    redis.call('SET', ikey, idem .. '|' .. id .. '|' .. receipt, 'EX', ittl)
  end
  ids[r] = id
end

for dkey, c in pairs(counters) do
  for field, n in pairs(c) do
    redis.call('HINCRBY', dkey, field, n)
  end
  redis.call('EXPIRE', dkey, cttl)
end
if chained then
  redis.call('SET', KEYS[3], ARGV[9])
  if turn == me then
    redis.call('DEL', KEYS[4])
  end
end
return {1, ids}

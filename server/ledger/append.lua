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
-- then the rate-limit window's hash c:{site}:r:{window start ms} (one field per counter)
-- then 1 key per record: its visitor hash c:{site}:v:{consentId}; for a scan record, the scans
--   index c:{site}:scans instead
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
-- ARGV[12] number of rate-limit counters
-- ARGV[13] the rate-limit window's end (unix ms)
-- ARGV[14..19] the signed batch: seq of its first record, key ID, signing time, signature,
--          Merkle root, the records' hashes (hex, concatenated)
-- then the snapshot pairs;
-- then per rate-limit counter: its field in the window's hash, limit;
-- then per daily counter hash: nfields, then (field, increment) pairs: the batch's counters,
--   summed by the caller;
-- then per record: record JSON, Idempotency-Key ("" without one), idempotency value prefix,
--   method, consent ID limit (0: not limited), n, then n rate-limit counter indexes (1-based, in
--   the order the record's limits are checked). A scan record (docs/proof.md) has method '', no
--   Idempotency-Key, no limit and no counters: it is not a decision, so it writes no visitor
--   hash; its stream ID is added to the scans index (score: its milliseconds).
--
-- Each record's entry names its batch (field "b": the batch entry's ID): the receipt is rebuilt
-- from the batch entry, not stored with every record (docs/proof.md, "Storage").
--
-- The visitor hash keeps, besides the visitor's state and decisions (keys.go, VisitorKey):
--   "i:<Idempotency-Key>"  "<prefix>|<streamID>" (idempotency.go), so a retry is stored once;
--   "l"                    "<window start ms>:<count>": the decisions counted against the
--                          consent ID limit in the current window (only records with a limit).
-- A rate-limit counter is a field of the hash of the current window (fixed windows aligned to
-- the clock), holding the records counted in that window; the hash expires with the window.
--
-- Limits: a record is admitted when none of its rate-limit counters is at its limit and its
-- consent ID is not; then each of them counts it. A record refused by a limit counts nowhere.
-- Records are checked in order, each seeing the counts of those admitted before it.
--
-- Nothing is written unless the chain head is the one the batch was chained on, no record's
-- idempotency key has been seen and no record is over a limit. Fairness between instances: the
-- first batch that finds another head takes the turn; while another instance holds the turn, a
-- batch is refused too, so an instance that keeps losing to a faster one gets through on its
-- next attempt. Returns
--   {1, {streamID...}, {count, resetMs, ...}}
--                                 written, one ID per record; per record the count of its first
--                                 rate-limit counter with it and the ms until that counter's
--                                 window ends (0, 0 for a record without counters)
--   {0, currentHead, {i, storedValue, ...}, why, {i, retryMs, which, ...}}
--                                 nothing written: the caller re-chains the records on
--                                 currentHead, leaving out the duplicates i (1-based), answered
--                                 with the stored values, and the records i over a limit (which:
--                                 the position of the counter in the record's list, or n + 1 for
--                                 the consent ID limit; retry after retryMs), and sends them
--                                 again; why is 'head' (another head), 'turn' (another instance
--                                 has the turn: wait a moment), 'dup' or 'limit'.

local nrec = tonumber(ARGV[1])
local cttl, vttl = ARGV[4], ARGV[5]
local genesis = '0 0000000000000000000000000000000000000000000000000000000000000000'
local nsnap = tonumber(ARGV[2])
local ndaily = tonumber(ARGV[3])
local me = ARGV[8]
local window, now = tonumber(ARGV[10]), tonumber(ARGV[11])
local nctr, windowEnd = tonumber(ARGV[12]), tonumber(ARGV[13])
-- Where the sections start: ARGV[ctrArg + 2 * (c - 1)] is counter c's field, the next its limit.
local ctrArg = 20 + 2 * nsnap
local rkey = KEYS[6 + ndaily]
local first = ctrArg + 2 * nctr
for d = 1, ndaily do
  first = first + 1 + 2 * tonumber(ARGV[first])
end
local firstKey = 7 + ndaily

-- Rate-limit counters: read at once, counted in memory, written at once.
local count, add = {}, {}
if nctr > 0 then
  local fields = {}
  for c = 1, nctr do
    fields[c] = ARGV[ctrArg + 2 * (c - 1)]
  end
  local vals = redis.call('HMGET', rkey, unpack(fields))
  for c = 1, nctr do
    count[c], add[c] = tonumber(vals[c] or '0'), 0
  end
end
local function left()
  return math.max(windowEnd - now, 1)
end

-- 1. Check, write nothing yet. limits: visitor hash -> {window start, count} after this
-- batch's admitted records; firstCount: per record, its first counter's count with it.
local head = redis.call('GET', KEYS[3]) or genesis
local dups, limited, limits, firstCount = {}, {}, {}, {}
local k, a = firstKey, first
for r = 1, nrec do
  local vkey, idem, climit, n = KEYS[k], ARGV[a + 1], tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  local got
  if idem ~= '' or climit > 0 then
    got = redis.call('HMGET', vkey, 'i:' .. idem, 'l')
  end
  if idem ~= '' and got[1] then
    dups[#dups + 1] = r
    dups[#dups + 1] = got[1]
  else
    local blocked, retry = 0, 0
    for j = 1, n do
      local c = tonumber(ARGV[a + 5 + j])
      if count[c] >= tonumber(ARGV[ctrArg + 2 * (c - 1) + 1]) then
        blocked, retry = j, left()
        break
      end
    end
    local l
    if blocked == 0 and climit > 0 then
      l = limits[vkey]
      if not l then
        l = {now, 0}
        local start, m = string.match(got[2] or '', '^(%d+):(%d+)$')
        if start and tonumber(start) + window > now then
          l = {tonumber(start), tonumber(m)}
        end
      end
      if l[2] >= climit then
        blocked, retry = n + 1, l[1] + window - now
      end
    end
    if blocked > 0 then
      limited[#limited + 1] = r
      limited[#limited + 1] = retry
      limited[#limited + 1] = blocked
    else
      for j = 1, n do
        local c = tonumber(ARGV[a + 5 + j])
        count[c] = count[c] + 1
        add[c] = add[c] + 1
      end
      if n > 0 then
        firstCount[r] = count[tonumber(ARGV[a + 6])]
      end
      if climit > 0 then
        limits[vkey] = {l[1], l[2] + 1}
      end
    end
  end
  k = k + 1
  a = a + 6 + n
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
a = 20
for i = 1, nsnap do
  redis.call('HSETNX', KEYS[2], ARGV[a], ARGV[a + 1])
  a = a + 2
end
local counted = {}
for c = 1, nctr do
  if add[c] > 0 then
    counted[#counted + 1] = ARGV[ctrArg + 2 * (c - 1)]
    counted[#counted + 1] = count[c]
  end
end
if #counted > 0 then
  redis.call('HSET', rkey, unpack(counted))
  redis.call('PEXPIREAT', rkey, windowEnd)
end
a = ctrArg + 2 * nctr
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
local bid = redis.call('XADD', KEYS[5], '*', 'v', '1', 'seq', ARGV[14], 'kid', ARGV[15], 'time', ARGV[16],
  'sig', ARGV[17], 'root', ARGV[18], 'leaves', ARGV[19])
local ids, usage = {}, {}
k = firstKey
for r = 1, nrec do
  local vkey = KEYS[k]
  k = k + 1
  local record, idem, prefix, method = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local climit, n = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  if n > 0 then
    usage[#usage + 1] = firstCount[r]
    usage[#usage + 1] = left()
  else
    usage[#usage + 1] = 0
    usage[#usage + 1] = 0
  end
  a = a + 6 + n

  local id = redis.call('XADD', KEYS[1], '*', 'v', '2', 'record', record, 'b', bid)
  if method == '' then
    -- A scan record: listed in the site's scans index, no visitor.
    redis.call('ZADD', vkey, tonumber(string.match(id, '^(%d+)')), id)
  else
    -- The visitor's decisions' stream IDs (fields, holding the method) for look-ups, the
    -- request's idempotency value and the consent ID limit's count.
    local f = {id, method}
    if idem ~= '' then
      f[#f + 1] = 'i:' .. idem
      f[#f + 1] = prefix .. '|' .. id
    end
    if climit > 0 then
      local l = limits[vkey]
      f[#f + 1] = 'l'
      f[#f + 1] = l[1] .. ':' .. l[2]
    end
    redis.call('HSET', vkey, unpack(f))
    redis.call('EXPIRE', vkey, vttl)
  end
  ids[r] = id
end

redis.call('SET', KEYS[3], ARGV[7])
if turn == me then
  redis.call('DEL', KEYS[4])
end
return {1, ids, usage}

-- consentd ledger: append a signed head checkpoint of ONE site, unless it would say nothing new.
--
-- KEYS[1]  list c:{site}:checkpoints
-- KEYS[2]  hash c:{site}:checkpoints:last (seq, ms of the newest head checkpoint)
-- ARGV[1]  the checkpoint's seq
-- ARGV[2]  the checkpoint (proof.Checkpoint JSON)
-- ARGV[3]  now (unix ms)
-- ARGV[4]  minimum gap (ms) since the newest head checkpoint; 0: none
--
-- Written only when the checkpoint's seq is beyond the newest head checkpoint's and the gap has
-- passed, so instances checkpointing the same head (or an older one) write it once.
-- Returns 1 when written, 0 when not.
local last = redis.call('HMGET', KEYS[2], 'seq', 'ms')
local seq, now, gap = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4])
if seq <= (tonumber(last[1]) or 0) then
  return 0
end
if gap > 0 and now - (tonumber(last[2]) or 0) < gap then
  return 0
end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'ms', ARGV[3])
return 1

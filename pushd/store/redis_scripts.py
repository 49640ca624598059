"""Lua scripts: each change of a record, its lookups and its deadline happens at once.

Errors come back as ``PUSHD <kind>`` so the engine maps them to Conflict exceptions.
Expiry: a record keeps its ``expires_at`` (field ``e``) and is dead once pushd's clock
(``now``) reaches it, exactly as in the embedded store; Redis's own PEXPIREAT on the
record and its lookups is the garbage collector. A lookup whose owner is dead no
longer counts.
"""

from __future__ import annotations

# Shared helpers, prepended to each script.
_COMMON = """
local function live(rk, now)
  local e = redis.call("HGET", rk, "e")
  if not e then return false end
  return e == "" or tonumber(e) > tonumber(now)
end

local function owner_alive(prefix, owner, now)
  local sep = string.find(owner, "\\0", 1, true)
  if not sep then return false end
  local rk = prefix .. "r:" .. string.sub(owner, 1, sep - 1) .. ":" .. string.sub(owner, sep + 1)
  return live(rk, now)
end

local function claim(prefix, self_owner, lookups, now)
  for i = 1, #lookups, 2 do
    local current = redis.call("GET", lookups[i])
    if current and current ~= self_owner and owner_alive(prefix, current, now) then
      return redis.error_reply("PUSHD taken " .. lookups[i + 1])
    end
  end
  return nil
end

local function set_lookups(self_owner, lookups, expires_ms)
  local keys = {}
  for i = 1, #lookups, 2 do
    redis.call("SET", lookups[i], self_owner)
    if expires_ms ~= "" then redis.call("PEXPIREAT", lookups[i], expires_ms) end
    table.insert(keys, lookups[i])
  end
  return table.concat(keys, "\\n")
end

local function drop_lookups(self_owner, packed)
  if not packed or packed == "" then return end
  for lk in string.gmatch(packed, "[^\\n]+") do
    if redis.call("GET", lk) == self_owner then redis.call("DEL", lk) end
  end
end

local function deadline(due_key, key, due_at)
  if due_at == "" then redis.call("ZREM", due_key, key)
  else redis.call("ZADD", due_key, due_at, key) end
end
"""

# KEYS: record, due set.  ARGV: prefix, owner, key, data, expires_ms, due_at, expires_at,
# now, n, then n pairs of (lookup key, lookup name).
INSERT = (
    _COMMON
    + """
local rk, due_key = KEYS[1], KEYS[2]
local prefix, owner, key = ARGV[1], ARGV[2], ARGV[3]
local data, expires_ms, due_at, expires_at, now = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if live(rk, now) then return redis.error_reply("PUSHD exists") end
local lookups = {}
for i = 10, 9 + 2 * tonumber(ARGV[9]) do table.insert(lookups, ARGV[i]) end
local refused = claim(prefix, owner, lookups, now)
if refused then return refused end
if redis.call("EXISTS", rk) == 1 then  -- a dead record Redis has not collected yet
  drop_lookups(owner, redis.call("HGET", rk, "l"))
  redis.call("DEL", rk)
end
local packed = set_lookups(owner, lookups, expires_ms)
redis.call("HSET", rk, "v", 1, "d", data, "l", packed, "e", expires_at)
if expires_ms ~= "" then redis.call("PEXPIREAT", rk, expires_ms) end
deadline(due_key, key, due_at)
return 1
"""
)

# KEYS: record, due set.  ARGV: prefix, owner, key, data, expires_ms, due_at, expires_at,
# now, version, replace_lookups ("1"/"0"), n, then n pairs.
UPDATE = (
    _COMMON
    + """
local rk, due_key = KEYS[1], KEYS[2]
local prefix, owner, key = ARGV[1], ARGV[2], ARGV[3]
local data, expires_ms, due_at, expires_at, now = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local current = redis.call("HMGET", rk, "v", "l")
if not current[1] or tonumber(current[1]) ~= tonumber(ARGV[9]) or not live(rk, now) then
  return redis.error_reply("PUSHD conflict")
end
local packed = current[2] or ""
if ARGV[10] == "1" then
  local lookups = {}
  for i = 12, 11 + 2 * tonumber(ARGV[11]) do table.insert(lookups, ARGV[i]) end
  local refused = claim(prefix, owner, lookups, now)
  if refused then return refused end
  drop_lookups(owner, packed)
  packed = set_lookups(owner, lookups, expires_ms)
elseif packed ~= "" then
  for lk in string.gmatch(packed, "[^\\n]+") do
    if expires_ms ~= "" then redis.call("PEXPIREAT", lk, expires_ms)
    else redis.call("PERSIST", lk) end
  end
end
local version = tonumber(current[1]) + 1
redis.call("HSET", rk, "v", version, "d", data, "l", packed, "e", expires_at)
if expires_ms ~= "" then redis.call("PEXPIREAT", rk, expires_ms) else redis.call("PERSIST", rk) end
deadline(due_key, key, due_at)
return version
"""
)

# KEYS: record, due set.  ARGV: owner, key, version ("" for any).
DELETE = (
    _COMMON
    + """
local rk, due_key = KEYS[1], KEYS[2]
local current = redis.call("HMGET", rk, "v", "l")
if not current[1] then return 0 end
if ARGV[3] ~= "" and tonumber(current[1]) ~= tonumber(ARGV[3]) then return 0 end
drop_lookups(ARGV[1], current[2])
redis.call("DEL", rk)
redis.call("ZREM", due_key, ARGV[2])
return 1
"""
)

# KEYS: the key's event set, the all-events set, the sequence.  ARGV: at, entry.
APPEND = """
local seq = redis.call("INCR", KEYS[3])
local member = string.format("%020d", seq) .. ARGV[2]
redis.call("ZADD", KEYS[1], ARGV[1], member)
redis.call("ZADD", KEYS[2], ARGV[1], member)
return seq
"""

# A read: the record owning a lookup, in one round trip (pushd's clock judges liveness).
# KEYS: the lookup.  ARGV: prefix.  Returns {owner, v, d, e}, or nil.
FIND = """
local owner = redis.call("GET", KEYS[1])
if not owner then return false end
local sep = string.find(owner, "\\0", 1, true)
if not sep then return false end
local rk = ARGV[1] .. "r:" .. string.sub(owner, 1, sep - 1) .. ":" .. string.sub(owner, sep + 1)
local fields = redis.call("HMGET", rk, "v", "d", "e")
return {owner, fields[1], fields[2], fields[3]}
"""

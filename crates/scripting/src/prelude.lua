-- Sandbox set-up, run once per Lua state before any user code (chunk name "=redis").
-- Receives the Rust primitives table; returns the runners.  Everything the
-- scripts can reach afterwards is either a plain value or a read-only proxy.
local P = ...
local rawset, rawget, setmetatable, getmetatable, error, type, next, tostring, xpcall =
      rawset, rawget, setmetatable, getmetatable, error, type, next, tostring, xpcall
local loadstring, select, pairs, ipairs = loadstring, select, pairs, ipairs
local dbg = debug
local G = _G

-- proxy -> the real table behind it (weak keys: proxies are never collected anyway)
local real_of = setmetatable({}, {__mode = 'k'})
local function ro_error() error('Attempt to modify a readonly table', 2) end
local FROZEN = setmetatable({}, {__newindex = ro_error, __metatable = false})
real_of[FROZEN] = {}

local function protect(t)
  local p = {}
  real_of[p] = t
  setmetatable(p, {__index = t, __newindex = ro_error, __metatable = FROZEN})
  return p
end

-- A read-only proxy whose missing keys are an error, as Redis's error metatable.
local function protect_strict(t)
  local p = {}
  real_of[p] = t
  setmetatable(p, {
    __index = function(_, k)
      local v = t[k]
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = ro_error,
    __metatable = FROZEN,
  })
  return p
end

local function is_protected(t) return real_of[t] ~= nil end
local function unwrap(t) return real_of[t] or t end

-- redis.call and the other raising functions are Rust functions (so that a tail call from the
-- script keeps the script's frame for the error position); the error table they raise is
-- kept on the Rust side and fetched with take_error.
local take_error = P.take_error
local redis = {}
redis.call = P.call
redis.pcall = P.pcall
for name, f in next, P.redis do redis[name] = f end
for name, v in next, P.redis_values do redis[name] = v end
-- As luaPushErrorBuff: "-CODE msg" keeps its code, a message without one gets ERR.
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  if not e:find(' ', 1, true) then e = '-ERR ' .. e:sub(2) end
  return {err = e:sub(2)}
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = s}
end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.replicate_commands = function() return true end

G.redis = redis
for name, lib in next, P.libs do G[name] = lib end

-- Binary chunks never load (string.dump output, "\27Lua" strings).
local function safe_loadstring(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then
    return nil, 'loading binary chunks is not allowed'
  end
  return loadstring(s, name)
end
G.loadstring = safe_loadstring
G.load = function(f, name)
  if type(f) ~= 'function' then return safe_loadstring(f, name) end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == '' then break end
    if type(piece) ~= 'string' then return nil, 'reader function must return a string' end
    parts[#parts + 1] = piece
  end
  return safe_loadstring(table.concat(parts), name)
end
G.setmetatable = function(t, mt)
  if t == G or is_protected(t) then error('Attempt to modify a readonly table', 0) end
  return setmetatable(t, mt)
end
G.rawset = function(t, k, v)
  if t == G or is_protected(t) then error('Attempt to modify a readonly table', 0) end
  return rawset(t, k, v)
end
G.rawget = function(t, k) return rawget(unwrap(t), k) end
G.next = function(t, k) return next(unwrap(t), k) end
G.pairs = function(t) return next, unwrap(t), nil end
G.ipairs = function(t) return ipairs(unwrap(t)) end
local opcall, oxpcall, unpack = pcall, xpcall, unpack
-- As Redis 7.0's pcall: an error table gives its message (scripts written for older
-- versions, where errors were strings, keep working).
local function fix(ok, ...)
  if not ok then
    local e = ...
    if type(e) == 'userdata' then e = take_error() or e end
    if type(e) == 'table' then
      local m = e.err
      if type(m) == 'string' or type(m) == 'number' then e = m end
    end
    return false, e
  end
  return ok, ...
end
G.pcall = function(f, ...) return fix(opcall(f, ...)) end
G.xpcall = function(f, h)
  return oxpcall(f, function(e)
    if type(e) == 'userdata' then e = take_error() or e end
    return h(e)
  end)
end
G.print = nil
G.dofile = nil
G.loadfile = nil
G.module = nil
G.require = nil
G.debug = nil

-- The error handler of every run: a table {err=..., source=..., line=...}.
local killed = P.killed
local function err_handler(err)
  if killed() then
    err = {err = 'ERR Script killed by user with SCRIPT KILL...'}
  elseif type(err) == 'userdata' then
    err = take_error() or {err = 'ERR ' .. tostring(err)}
  elseif type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  local level = 2
  while true do
    local i = dbg.getinfo(level, 'nSl')
    if i == nil then break end
    if i.what ~= 'C' and i.what ~= 'tail' and i.source ~= '=redis' then
      err['source'] = i.source
      err['line'] = i.currentline
      break
    end
    level = level + 1
  end
  return err
end
G.__redis__err__handler = err_handler

-- Lock the globals: every table value becomes a read-only proxy, the globals
-- table itself is emptied and reads fall through to the real contents.
local real_globals = {}
for k, v in next, G do
  if type(v) == 'table' and v ~= G then v = protect(v) end
  real_globals[k] = v
end
for k in next, real_globals do rawset(G, k, nil) end
real_globals._G = G
real_of[G] = real_globals
setmetatable(real_globals, {__index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end})
local gmt = {__index = real_globals, __newindex = ro_error, __metatable = FROZEN}
setmetatable(G, gmt)

-- FUNCTION LOAD runs library code with only the library API visible.
local load_globals = {}
if P.library_api then
  local api = {}
  for k, v in next, P.library_api do api[k] = v end
  load_globals.redis = protect_strict(api)
end
load_globals = protect_strict(load_globals)
local function set_load_mode(on)
  gmt.__index = on and load_globals or real_globals
end
-- Strings' methods come from the same read-only string table.
local smt = getmetatable('')
smt.__index = real_globals.string
smt.__metatable = FROZEN

-- An EVAL script gets its KEYS and ARGV with the call (one call instead of three).
local function run(f, keys, args)
  if keys ~= nil then
    rawset(real_globals, 'KEYS', keys)
    rawset(real_globals, 'ARGV', args)
  end
  return xpcall(f, err_handler)
end
local function run_with(f, keys, args)
  return xpcall(function() return f(keys, args) end, err_handler)
end
return run, run_with, set_load_mode

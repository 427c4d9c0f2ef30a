-- Micro-benchmark of the gateway's status lookup, run inside nginx so the
-- plain-Lua baseline can use an `ngx.shared` dictionary as a Kong plugin
-- would. Responds to GET /?developers=N with JSON: nanoseconds per call
-- (median of REPEATS runs) for each case.

local ffi = require "ffi"
local cjson = require "cjson"
local core = require "developer_portal_core"
local driver = require "luasql.sqlite3"


ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
]]


local CLOCK_MONOTONIC = 1
local REPEATS = 5
local HIT_CALLS = 2000000
local HOT_KEYS = 1000
local MISS_KEYS = 20000


local ts = ffi.new("bench_timespec")


local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1e9 + tonumber(ts.tv_nsec)
end


local function median(values)
  table.sort(values)
  return values[math.ceil(#values / 2)]
end


local function measure_once(fn, keys, calls)
  local started = now()
  fn(keys, calls)
  return (now() - started) / calls
end


-- Runs `fn(keys, n)` REPEATS times and returns the median ns per call.
local function measure(fn, keys, calls, before_each)
  local runs = {}
  for r = 1, REPEATS do
    if before_each then
      before_each(r)
    end
    local started = now()
    fn(keys, calls)
    runs[r] = (now() - started) / calls
  end
  return median(runs)
end


local function keys_for(count, developers, offset)
  local keys = {}
  for i = 1, count do
    keys[i] = "dev" .. ((i - 1 + offset) % developers) .. "@bench.example"
  end
  return keys
end


local lookup, noop = core.lookup, core.noop


local function call_noop(keys, calls)
  local n = #keys
  for i = 1, calls do
    noop(keys[i % n + 1], false)
  end
end


local function call_lookup(keys, calls)
  local n = #keys
  for i = 1, calls do
    local code, err = lookup(keys[i % n + 1], false)
    if code ~= 0 then
      error("unexpected status " .. tostring(code) .. " for " .. keys[i % n + 1] ..
            (err and (": " .. err.message) or ""))
    end
  end
end


-- The baseline: a shared dictionary in front of SQLite, as a Kong plugin
-- author would write it in Lua.
local dict = ngx.shared.baseline
local conn


local function baseline_get(key)
  local status = dict:get(key)
  if status then
    return status
  end
  local cursor = conn:execute("SELECT status FROM developers WHERE email_key = '" ..
                              key:lower():gsub("'", "''") .. "'")
  local row = cursor:fetch({}, "n")
  cursor:close()
  status = row and tonumber(row[1]) or -1
  dict:set(key, status)
  return status
end


local function call_baseline(keys, calls)
  local n = #keys
  for i = 1, calls do
    if baseline_get(keys[i % n + 1]) ~= 0 then
      error("unexpected baseline status for " .. keys[i % n + 1])
    end
  end
end


local _M = {}


function _M.run()
  local developers = tonumber(ngx.var.arg_developers)
  local store = ngx.var.arg_store
  conn = conn or assert(driver.sqlite3():connect(store))

  -- Half the store at most is hot, so that misses have fresh keys left.
  local hot_count = math.min(HOT_KEYS, math.floor(developers / 2))
  local hot = keys_for(hot_count, developers, 0)
  local result = { developers = developers, repeats = REPEATS }

  -- Warm the caches, then time hits over a set of hot keys.
  call_lookup(hot, hot_count)
  call_baseline(hot, hot_count)
  -- The three run in turn within each repeat, so that drift in the
  -- machine's speed touches them alike; the ratio is taken per repeat.
  local noop_runs, hit_runs, baseline_runs, ratios = {}, {}, {}, {}
  for r = 1, REPEATS do
    noop_runs[r] = measure_once(call_noop, hot, HIT_CALLS)
    hit_runs[r] = measure_once(call_lookup, hot, HIT_CALLS)
    baseline_runs[r] = measure_once(call_baseline, hot, HIT_CALLS)
    ratios[r] = hit_runs[r] / noop_runs[r]
  end
  result.noop_ns = median(noop_runs)
  result.hit_ns = median(hit_runs)
  result.baseline_hit_ns = median(baseline_runs)
  result.hit_ratio = median(ratios)

  -- The plugin's whole access phase for an approved developer's consumer,
  -- as Kong would call it after key-auth has set the consumer.
  local consumers = {}
  for i = 1, #hot do
    consumers[i] = { username = hot[i] }
  end
  local config = { consumer_match = "username", allow_unknown_consumers = true }
  local ctx = ngx.ctx
  local access_runs = {}
  for r = 1, REPEATS do
    access_runs[r] = measure_once(function(_, calls)
      local n = #consumers
      for i = 1, calls do
        ctx.authenticated_consumer = consumers[i % n + 1]
        handler:access(config)
      end
    end, nil, HIT_CALLS)
  end
  result.access_ns = median(access_runs)

  -- Misses: each repeat takes keys that no earlier repeat looked up, spread
  -- over the whole store past the hot ones.
  local cold_pool = developers - hot_count
  local misses = math.min(MISS_KEYS, math.floor(cold_pool / REPEATS))
  local stride = math.max(1, math.floor(cold_pool / (misses * REPEATS)))
  local cold = {}
  for r = 1, REPEATS do
    local keys = {}
    for i = 1, misses do
      local index = hot_count + (((r - 1) * misses + i - 1) * stride) % cold_pool
      keys[i] = "dev" .. index .. "@bench.example"
    end
    cold[r] = keys
  end
  result.miss_keys = misses
  local round = 0
  result.miss_ns = measure(function(_, calls)
    round = round + 1
    call_lookup(cold[round], calls)
  end, nil, misses)
  round = 0
  result.baseline_miss_ns = measure(function(_, calls)
    round = round + 1
    call_baseline(cold[round], calls)
  end, nil, misses, function() dict:flush_all() end)

  ngx.header["Content-Type"] = "application/json"
  ngx.say(cjson.encode(result))
end


return _M

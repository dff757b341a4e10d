-- The mixed traffic of bench/soak.py, for wrk:
--
--   wrk -tN -cN -s bench/soak.lua http://127.0.0.1:PORT -- TARGETS RATE PHASE
--
-- TARGETS is a Lua file soak.py writes (addresses, weights, the write token); RATE is requests per second
-- per thread (0: as fast as the server answers); PHASE names the run (it goes into the ids of articles
-- the API writes). Run with one connection per thread (-t equal to -c): a thread's responses then
-- answer its requests in order, so each response is counted under the kind of request that asked it,
-- and a feed's ETag is remembered for the next conditional request, as a feed reader does.
--
-- done() prints one line, "SOAK {json}", with wrk's totals, latency percentiles and every thread's
-- count of each kind and status.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } soak_timespec;
int clock_gettime(int clock, soak_timespec *now);
]])
local clock = ffi.new("soak_timespec")

local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

local targets, interval, phase, kinds, cumulative, total, subscriptions
local last_kind, last_path, written = nil, nil, 0
local next_slot = 0
local etags = {}
counts = {} -- "kind status" -> responses; read by done() from every thread

local function pick(list)
  return list[math.random(#list)]
end

function init(args)
  targets = dofile(args[1])
  local rate = tonumber(args[2])
  interval = rate > 0 and 1000 / rate or 0
  phase = args[3]
  math.randomseed(id * 7919 + #phase)
  kinds, cumulative, total = {}, {}, 0
  for kind, weight in pairs(targets.weights) do
    total = total + weight
    table.insert(kinds, kind)
    table.insert(cumulative, total)
  end
  -- Like an aggregator, each thread revalidates its own subscriptions: twenty feeds it polls again
  -- and again (304 while they are unchanged), while its plain hits range over every feed.
  subscriptions = {}
  for i = 1, math.min(20, #targets.feeds) do
    subscriptions[i] = pick(targets.feeds)
  end
  next_slot = now_ms()
end

local function kind_now()
  local r = math.random() * total
  for i, bound in ipairs(cumulative) do
    if r < bound then
      return kinds[i]
    end
  end
  return kinds[#kinds]
end

function request()
  local kind = kind_now()
  local path, headers = nil, { ["Accept-Encoding"] = "gzip" } -- as feed readers and browsers send it
  if kind == "api" then
    -- Fifty articles per thread and phase: created (201), then replaced again and again (200).
    written = written + 1
    path = string.format("/api/v1/articles/soak-%s-%d-%d", phase, id, written % 50)
    headers["Authorization"] = "Bearer " .. targets.token
    headers["Content-Type"] = "application/json"
    last_kind, last_path = kind, path
    return wrk.format("PUT", path, headers, string.format(targets.api_body, written, written))
  elseif kind == "conditional" then
    path = pick(subscriptions)
    local etag = etags[path]
    if etag then
      headers["If-None-Match"] = etag
    end
  elseif kind == "feed" then
    path = pick(targets.feeds)
  elseif kind == "page" then
    path = pick(targets.pages)
  else
    path = pick(targets.shares)
  end
  last_kind, last_path = kind, path
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  local key = last_kind .. " " .. status
  counts[key] = (counts[key] or 0) + 1
  if status == 200 and last_kind ~= "api" then
    local etag = headers["ETag"] or headers["Etag"] or headers["etag"]
    if etag then
      etags[last_path] = etag
    end
  end
end

-- Paced: each thread sends at most RATE requests a second, evenly spaced; one that falls behind does
-- not burst to catch up (wrk2 is not packaged; this is its constant rate within one connection).
function delay()
  if interval == 0 then
    return 0
  end
  local now = now_ms()
  next_slot = math.max(next_slot + interval, now)
  return next_slot - now
end

local function json_counts()
  local merged = {}
  for _, thread in ipairs(threads) do
    for key, n in pairs(thread:get("counts")) do
      merged[key] = (merged[key] or 0) + n
    end
  end
  local parts = {}
  for key, n in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', key, n))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(
    string.format(
      'SOAK {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, '
        .. '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, '
        .. '"counts": %s}\n',
      summary.requests,
      summary.duration,
      e.connect,
      e.read,
      e.write,
      e.status,
      e.timeout,
      latency:percentile(50),
      latency:percentile(90),
      latency:percentile(99),
      latency.max,
      latency.mean,
      json_counts()
    )
  )
end

-- wrk script for the server benchmark: cycles over a list of request paths with a method
-- mix, keep-alive, and prints a machine-readable summary line at the end.
--
--   wrk ... -s requests.lua URL -- PATHS_FILE [MIX [DEPTH]]
--
-- DEPTH > 1 pipelines that many requests per write (HTTP/1.1 pipelining, RFC 9112 §9.3):
-- the kernel's per-request cost is shared, so the server's own cost shows.
-- MIX is e.g. "GET:100" (default) or "GET:50,POST:50". Requests are formatted once in
-- init() so that wrk, not Lua, sets the pace. No HEAD: wrk's parser does not know the
-- request method and waits for the body a HEAD response announces in Content-Length, so
-- the harness measures HEAD with h2load over HTTP/2 instead.

local requests = {}
local count = 0
local index = 0

local function parse_mix(spec)
  local mix = {}
  for method, weight in string.gmatch(spec, "(%u+):(%d+)") do
    if method == "HEAD" then
      error("wrk cannot time HEAD (it waits for the announced body); use h2load")
    end
    mix[#mix + 1] = { method = method, weight = tonumber(weight) }
  end
  if #mix == 0 then
    error("bad method mix " .. spec .. "; write e.g. GET:50,POST:50")
  end
  return mix
end

local function method_for(mix, i)
  -- Deterministic interleave: slot i of every 100 goes to the method owning that slot.
  local slot = (i * 37) % 100
  local acc = 0
  for _, m in ipairs(mix) do
    acc = acc + m.weight
    if slot < acc then
      return m.method
    end
  end
  return mix[#mix].method
end

function init(args)
  local file = args[1] or error("pass the path list: -- PATHS_FILE [MIX [DEPTH]]")
  local mix = parse_mix(args[2] or "GET:100")
  local depth = tonumber(args[3] or "1")
  local post_headers = { ["Content-Type"] = "application/x-www-form-urlencoded" }
  local post_body = "name=example&value=303&note=see-other"
  local i = 0
  for path in io.lines(file) do
    local method = method_for(mix, i)
    if method == "POST" then
      requests[i + 1] = wrk.format("POST", path, post_headers, post_body)
    else
      requests[i + 1] = wrk.format(method, path)
    end
    i = i + 1
  end
  count = i
  if count == 0 then
    error("no paths in " .. file)
  end
  if depth > 1 then
    -- Every write carries exactly `depth` requests (wrk counts them once, at start).
    local batches = {}
    for b = 0, math.floor(count / depth) - 1 do
      batches[b + 1] = table.concat(requests, "", b * depth + 1, (b + 1) * depth)
    end
    if #batches == 0 then
      error("fewer paths than the pipeline depth")
    end
    requests = batches
    count = #batches
  end
end

function request()
  index = index % count + 1
  return requests[index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"p999_us":%d,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end

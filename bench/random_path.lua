-- wrk script: GET a random path built from a list of values.
-- Environment: BENCH_VALUES (file, one value per line), BENCH_PREFIX,
-- BENCH_SUFFIX, BENCH_TOKEN.
local values = {}
local prefix = os.getenv("BENCH_PREFIX") or ""
local suffix = os.getenv("BENCH_SUFFIX") or ""
local token = os.getenv("BENCH_TOKEN") or ""

for line in io.lines(os.getenv("BENCH_VALUES")) do
  values[#values + 1] = line
end
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)

request = function()
  local v = values[math.random(#values)]
  return wrk.format("GET", prefix .. v .. suffix, { ["Authorization"] = "Bearer " .. token })
end

-- No `response` callback: wrk then skips handing every body to Lua, and
-- counts non-2xx/3xx answers itself (summary.errors.status).
done = function(summary, latency, requests)
  local p50 = latency:percentile(50) / 1000
  local p99 = latency:percentile(99) / 1000
  local rps = summary.requests / (summary.duration / 1000000)
  local non2xx = summary.errors.status
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d non_2xx=%d\n",
    rps, p50, p99, summary.requests, non2xx))
end

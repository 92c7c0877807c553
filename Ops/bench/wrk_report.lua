-- wrk script for Ops/bench/run: adds the Authorization header when WRK_BEARER is set, and
-- prints one machine-readable line at the end with requests/s, latency percentiles and errors.
--   WRK_BEARER=wh_… wrk -t2 -c32 -d15s --latency -s Ops/bench/wrk_report.lua URL
local bearer = os.getenv("WRK_BEARER")
if bearer and #bearer > 0 then
  wrk.headers["Authorization"] = "Bearer " .. bearer
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f rps=%.2f bytes=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f mean_ms=%.3f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, seconds, summary.requests / seconds, summary.bytes,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end

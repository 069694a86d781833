-- wrk script: POST request bodies read from a file (one JSON document per line), each request a
-- different body. Thread t of T sends lines start+t, start+t+T, start+t+2T, ... (wrapping at the end
-- of the file), so together the threads walk the file in order and no line is sent twice before the
-- whole file has been sent. bench/lib/wrk.ts uses the per-thread counts to know exactly which lines
-- (annotation ids) went out.
--
-- wrk args (after --): <bodies file> <path> <first line, 0-based> <threads> [jobs]
--   "jobs": collect the distinct `"job":"<id>"` values of the responses (webhook training jobs).
-- done() prints one line `WRK_JSON {...}` for wrk.ts to parse.

local threads = {}
local next_tid = 0

function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  path = args[2]
  start = tonumber(args[3])
  nthreads = tonumber(args[4])
  track_jobs = args[5] == "jobs"
  headers = { ["Content-Type"] = "application/json" }
  lines = {}
  for line in io.lines(file) do
    if line ~= "" then lines[#lines + 1] = line end
  end
  n = #lines
  sent, ok, bad = 0, 0, 0
  statuses = {}
  jobs = {}
  -- wrk calls request() once on thread 0 before the run, only to check the request parses
  -- (script_verify_request); that call must not consume a line, or that line is never sent.
  verifying = tid == 0
end

function request()
  if verifying then
    verifying = false
    return wrk.format("POST", path, headers, lines[1])
  end
  local idx = (start + tid + nthreads * sent) % n
  sent = sent + 1
  return wrk.format("POST", path, headers, lines[idx + 1])
end

function response(status, hdrs, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
  end
  if track_jobs then
    local job = string.match(body, '"job":"([^"]+)"')
    if job then jobs[job] = true end
  end
end

local function quote(s)
  return '"' .. string.gsub(tostring(s), '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

local function object(t)
  local parts = {}
  for k, v in pairs(t) do parts[#parts + 1] = quote(k) .. ":" .. tostring(v) end
  return "{" .. table.concat(parts, ",") .. "}"
end

function done(summary, latency, requests)
  local per_thread = {}
  for _, t in ipairs(threads) do
    local ids = {}
    for id, _ in pairs(t:get("jobs") or {}) do ids[#ids + 1] = quote(id) end
    per_thread[#per_thread + 1] = string.format(
      '{"tid":%d,"sent":%d,"ok":%d,"bad":%d,"statuses":%s,"jobs":[%s]}',
      t:get("tid"), t:get("sent"), t:get("ok"), t:get("bad"), object(t:get("statuses") or {}), table.concat(ids, ","))
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"durationUs":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d},"threads":[%s]}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    table.concat(per_thread, ",")))
end

-- wrk script of the benchmark: every request is one random user's, signed with their token.
--
-- BENCH_USERS names a file of lines "<token> <etag> <notification id>" (one user each);
-- BENCH_MODE picks the request: count, etag (count with If-None-Match: the user's current
-- ETag), list (first page), read (mark one of the user's notifications read), readall (mark
-- all the user's notifications read), or mixed (90%
-- polls with the ETag, 8% mark read, 2% mark all read), or sweep (count, each thread taking
-- the users in turn: BENCH_THREADS threads visit every user once). BENCH_MODE=requests plays
-- any service's requests instead: BENCH_REQUESTS names a file of lines
-- "METHOD<TAB>PATH<TAB>Name: value|Name: value<TAB>BODY" (headers and body may be empty), and
-- each request is a random line. At the end one line "BENCH_RESULT {json}" reports the
-- totals and latency percentiles in microseconds.

local mode = os.getenv("BENCH_MODE") or "count"
local users_file = os.getenv("BENCH_USERS")
local prefix = "/api/notifications"
local count_path = prefix .. "/unread-count"

local threads = {}
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")
local next_user

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

local tokens, etags, ids = {}, {}, {}
local prepared = {}

local function load_requests(path)
  for line in io.lines(path) do
    local method, target, header_text, body = line:match("^([^\t]+)\t([^\t]+)\t([^\t]*)\t?(.*)$")
    if method then
      local headers = {}
      for name, value in header_text:gmatch("([^:|]+): ([^|]*)") do
        headers[name] = value
      end
      table.insert(prepared, wrk.format(method, target, headers, body ~= "" and body or nil))
    end
  end
  if #prepared == 0 then
    error("no requests in " .. tostring(path))
  end
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_number)
  if mode == "requests" then
    load_requests(os.getenv("BENCH_REQUESTS"))
    return
  end
  for line in io.lines(users_file) do
    local token, etag, id = line:match("^(%S+) (%S+) (%S+)$")
    if token then
      table.insert(tokens, "Bearer " .. token)
      table.insert(etags, etag)
      table.insert(ids, id)
    end
  end
  if #tokens == 0 then
    error("no users in " .. tostring(users_file))
  end
  next_user = thread_number
end

local function poll(i, with_etag)
  local headers = { Authorization = tokens[i] }
  if with_etag then
    headers["If-None-Match"] = etags[i]
  end
  return wrk.format("GET", count_path, headers)
end

local function post(path, i)
  return wrk.format("POST", path, { Authorization = tokens[i] }, "")
end

function request()
  if mode == "requests" then
    return prepared[math.random(#prepared)]
  end
  local i = math.random(#tokens)
  if mode == "count" then
    return poll(i, false)
  elseif mode == "sweep" then
    i = (next_user - 1) % #tokens + 1
    next_user = next_user + thread_count
    return poll(i, false)
  elseif mode == "etag" then
    return poll(i, true)
  elseif mode == "list" then
    return wrk.format("GET", prefix, { Authorization = tokens[i] })
  elseif mode == "read" then
    return post(prefix .. "/" .. ids[i] .. "/read", i)
  elseif mode == "readall" then
    return post(prefix .. "/read-all", i)
  elseif mode == "mixed" then
    local roll = math.random(100)
    if roll <= 90 then
      return poll(i, true)
    elseif roll <= 98 then
      return post(prefix .. "/" .. ids[i] .. "/read", i)
    end
    return post(prefix .. "/read-all", i)
  end
  error("unknown BENCH_MODE " .. mode)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

-- wrk script: each request borrows a title with the device licence in the answer
-- (POST /api/v1/me/loans naming the device), for the next (reader, title) pair of the
-- file that server/examples/borrow_setup.rs wrote, with a fresh request id.
--
--   BORROW_SETUP=target/bench-borrow/sqlite.lua \
--     wrk -t2 -c64 -d20s -s scripts/bench/borrow.lua http://127.0.0.1:PORT -- THREADS OFFSET
--
-- THREADS must equal wrk's -t (threads take pairs in turn, so no two requests ask for
-- the same pair); OFFSET skips the pairs an earlier run used. Answers other than 201 are
-- counted per status and printed by done(), with one sample body.

local data = dofile(os.getenv("BORROW_SETUP") or "borrow-setup.lua")
local readers, titles = data.readers, data.titles

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[1]) or 2
  offset = tonumber(args[2]) or 0
  -- SPREAD=1: consecutive requests ask for different titles (reader r's j-th loan is
  -- title r + j); otherwise every reader borrows the same title in turn (a hot title).
  spread = os.getenv("SPREAD") == "1"
  k = 0
  statuses = {}
  sample = nil
  math.randomseed(os.time() * 1000 + id * 7919)
end

local function hex16()
  return string.format("%04x", math.random(0, 0xffff))
end

-- A UUID-v4-shaped string: version 4, variant 10xx.
local function uuid()
  return hex16() .. hex16() .. "-" .. hex16() .. "-" ..
    string.format("4%03x", math.random(0, 0xfff)) .. "-" ..
    string.format("%04x", 0x8000 + math.random(0, 0x3fff)) .. "-" ..
    hex16() .. hex16() .. hex16()
end

function request()
  local index = offset + k * nthreads + id
  k = k + 1
  local r = index % #readers
  local round = math.floor(index / #readers)
  local reader = readers[r + 1]
  local t = round
  if spread then
    t = r + round
  end
  local title = titles[(t % #titles) + 1]
  local body = '{"title_id":"' .. title .. '","request_id":"' .. uuid() ..
    '","days":null,"device_id":"' .. reader[2] .. '"}'
  return wrk.format("POST", "/api/v1/me/loans", {
    ["Authorization"] = "Bearer " .. reader[1],
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  if status ~= 201 then
    statuses[status] = (statuses[status] or 0) + 1
    if sample == nil then
      sample = body
    end
  end
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local others = 0
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, count in pairs(counts) do
      io.write(string.format("non-201 answers: %d x status %d\n", count, status))
      others = others + count
    end
    local body = thread:get("sample")
    if body ~= nil then
      io.write("sample non-201 body: " .. string.sub(body, 1, 300) .. "\n")
    end
  end
  io.write(string.format(
    "RESULT requests=%d rate=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non201=%d socket_errors=%d\n",
    summary.requests, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, others,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end

-- wrk script for bench/load: POST /v1/samples with a JSON body, a new seed for every request.
-- Settings come from the environment: LOAD_N images a request, LOAD_STEPS DDIM steps.
local n = os.getenv("LOAD_N") or "1"
local steps = os.getenv("LOAD_STEPS") or "20"
local output = (n == "1") and "png" or "grid"
local counter = 0

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function setup(thread)
  thread:set("first", counter)
  counter = counter + 1000000
end

function init(args)
  counter = first
end

function request()
  counter = counter + 1
  local body = string.format('{"n": %s, "sampler": "ddim", "steps": %s, "seed": %d, "output": "%s"}', n, steps, counter, output)
  return wrk.format(nil, nil, nil, body)
end

-- One line that bench/load parses: requests, microseconds, p50 and p99 latency in microseconds, and the errors
-- (non-2xx/3xx responses, then socket errors: connect, read, write, timeout).
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout))
end

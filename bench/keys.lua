-- wrk script: each request carries the key of one of the first KEYS seeded
-- developers, in turn, so the gateway sees many consumers.
local count = tonumber(os.getenv("KEYS") or "1000")
local i = 0

request = function()
  i = (i + 1) % count
  return wrk.format("GET", nil, { apikey = "bench-key-" .. i })
end

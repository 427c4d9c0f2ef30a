local helpers = require "helpers"
local socket = require "socket"
local kong_db = require "kong_db"


local PASSWORD = "correct horse battery"


-- Registers and approves a developer, issues a key, and returns both.
local function approved_developer_with_key(email)
  local developer = helpers.register(email, "Gateway Tester", PASSWORD)
  local status = helpers.admin("PATCH", "/developers/" .. developer.id,
                               { status = 0 })
  assert.same(200, status)
  local key_status, _, credential = helpers.portal(
    "POST", "/credentials/key-auth", {},
    { Authorization = "Basic " .. (require("mime").b64(email .. ":" .. PASSWORD)) })
  assert.same(201, key_status)
  return developer, credential.key
end


local function proxy_with_key(path, key)
  return helpers.proxy("GET", path, nil, { apikey = key })
end


-- Starts `streams` background clients sending requests with `key` for
-- `seconds`; returns a function that waits for them and returns their lines
-- as { sent, answered, status, worker }.
local function start_streams(key, seconds, streams)
  local files = {}
  for i = 1, streams do
    files[i] = os.tmpname()
    os.execute(string.format(
      "luajit spec/fixtures/stream.lua %d /stream %s %s > %s 2>&1 &",
      helpers.ports.proxy, key, seconds, files[i]))
  end
  return function()
    socket.sleep(seconds + 1)
    local rows = {}
    for _, file in ipairs(files) do
      for line in io.lines(file) do
        local sent, answered, status, worker = line:match("^(%S+) (%S+) (%S+) (%S+)$")
        if sent then
          rows[#rows + 1] = { sent = tonumber(sent), answered = tonumber(answered),
                              status = tonumber(status), worker = worker }
        end
      end
      os.remove(file)
    end
    return rows
  end
end


-- Splits the stream at the moment the change was acknowledged: requests
-- sent after it must all get the new answer.
local function after(rows, acknowledged_at)
  local later, workers, count = {}, {}, 0
  for _, row in ipairs(rows) do
    if row.sent > acknowledged_at then
      later[row.status] = (later[row.status] or 0) + 1
      if not workers[row.worker] then
        workers[row.worker] = true
        count = count + 1
      end
    end
  end
  return later, count
end


describe("developer-portal gateway", function()
  setup(function()
    -- This spec registers more developers in a minute than the default
    -- rate limit allows; the limit has specs of its own.
    assert(helpers.start_host({
      conf = "portal_auth = basic-auth\nportal_register_rate_limit = 0\n",
    }))
  end)

  teardown(function()
    helpers.stop_host()
  end)

  describe("access", function()
    it("lets an approved developer's key through", function()
      local _, key = approved_developer_with_key("pass@example.com")
      local status, _, json = proxy_with_key("/anything", key)
      assert.same(200, status)
      assert.same({ upstream = "ok" }, json)
    end)

    it("refuses every other status with Kong's label", function()
      local developer, key = approved_developer_with_key("labels@example.com")
      local path = "/developers/" .. developer.id

      helpers.admin("PATCH", path, { status = 3 })
      local status, _, json = proxy_with_key("/anything", key)
      assert.same(401, status)
      assert.same({ message = 'Unauthorized: Developer status "REVOKED"' }, json)
    end)

    it("refuses requested and rejected developers' consumers", function()
      -- A key can only be issued to an approved developer, so the other
      -- statuses are reached afterwards: approved -> revoked is the only
      -- way out of approved, and rejected needs a fresh requested one.
      local requested = helpers.register("waiting@example.com", "Waiting", PASSWORD)
      local rejected = helpers.register("rejected@example.com", "Rejected", PASSWORD)
      helpers.admin("PATCH", "/developers/" .. rejected.id, { status = 2 })

      -- Their consumers exist from registration; give each a key directly
      -- through the host's kong.db stand-in, as an admin could in Kong.
      for _, case in ipairs({
        { developer = requested, label = "PENDING" },
        { developer = rejected, label = "REJECTED" },
      }) do
        local key = "key-" .. case.developer.id
        assert(kong_db.add_key(case.developer.email, key))
        local status, _, json = proxy_with_key("/anything", key)
        assert.same(401, status)
        assert.same({ message = 'Unauthorized: Developer status "' .. case.label .. '"' },
                    json)
      end
    end)

    it("passes requests without a consumer to the auth plugin's answer", function()
      local status, _, json = helpers.proxy("GET", "/anything")
      assert.same(401, status)
      assert.same({ message = "No API key found in request" }, json)
    end)

    it("passes consumers that are not developers by default", function()
      assert(kong_db.add_consumer_with_key("service-account", "service-key-123"))
      local status = proxy_with_key("/anything", "service-key-123")
      assert.same(200, status)
    end)

    it("refuses consumers that are not developers when configured", function()
      local status, _, json = proxy_with_key("/strict/anything", "service-key-123")
      assert.same(401, status)
      assert.same({ message = "Unauthorized: consumer is not a developer" }, json)
    end)

    it("matches by custom_id when configured", function()
      local developer, key = approved_developer_with_key("byid@example.com")
      assert.same(200, proxy_with_key("/by-custom-id/x", key))
      helpers.admin("PATCH", "/developers/" .. developer.id, { status = 3 })
      local status, _, json = proxy_with_key("/by-custom-id/x", key)
      assert.same(401, status)
      assert.same({ message = 'Unauthorized: Developer status "REVOKED"' }, json)
    end)
  end)

  describe("/credentials/key-auth", function()
    it("refuses a developer awaiting approval with Kong's answer", function()
      helpers.register("notyet@example.com", "Not Yet", PASSWORD)
      local status, _, json = helpers.portal(
        "POST", "/credentials/key-auth", {},
        { Authorization = "Basic " .. require("mime").b64("notyet@example.com:" .. PASSWORD) })
      assert.same(401, status)
      assert.same({ message = 'Unauthorized: Developer status "PENDING"' }, json)
    end)

    it("returns 409 for a key already in use", function()
      local _, key = approved_developer_with_key("first-key@example.com")
      approved_developer_with_key("second-key@example.com")
      local status, _, json = helpers.portal(
        "POST", "/credentials/key-auth", { key = key },
        { Authorization = "Basic " .. require("mime").b64("second-key@example.com:" .. PASSWORD) })
      assert.same(409, status)
      assert.same({
        message = "this key is already in use; choose another or omit key to get a random one",
      }, json)
    end)

    it("refuses a wrong password", function()
      local status, _, json = helpers.portal(
        "POST", "/credentials/key-auth", {},
        { Authorization = "Basic " .. require("mime").b64("pass@example.com:wrong password") })
      assert.same(401, status)
      assert.same({ message = "invalid email or credentials" }, json)
    end)
  end)

  describe("consumers", function()
    it("deletes the consumer and its keys with the developer", function()
      local developer, key = approved_developer_with_key("gone@example.com")
      assert.same(200, proxy_with_key("/anything", key))
      assert.same(204, (helpers.admin("DELETE", "/developers/" .. developer.id)))
      assert.is_nil(kong_db.find_consumer("gone@example.com"))
      local status, _, json = proxy_with_key("/anything", key)
      assert.same(401, status)
      assert.same({ message = "Invalid authentication credentials" }, json)
    end)
  end)

  describe("no stale answer across workers", function()
    local SECONDS = 3

    it("refuses every request sent after a revocation returns", function()
      local developer, key = approved_developer_with_key("stream-revoke@example.com")
      local finish = start_streams(key, SECONDS, 2)
      socket.sleep(SECONDS / 2)
      local status = helpers.admin("PATCH", "/developers/" .. developer.id, { status = 3 })
      local acknowledged_at = socket.gettime()
      assert.same(200, status)

      local rows = finish()
      local later, workers = after(rows, acknowledged_at)
      assert.is_true(#rows > 50, "too few requests to judge: " .. #rows)
      assert.same(2, workers)
      assert.is_nil(later[200], "stale passes after revocation: " .. tostring(later[200]))
      assert.is_true((later[401] or 0) > 0)
    end)

    it("lets every request through once a re-approval returns", function()
      local developer, key = approved_developer_with_key("stream-reapprove@example.com")
      helpers.admin("PATCH", "/developers/" .. developer.id, { status = 3 })
      local finish = start_streams(key, SECONDS, 2)
      socket.sleep(SECONDS / 2)
      local status = helpers.admin("PATCH", "/developers/" .. developer.id, { status = 0 })
      local acknowledged_at = socket.gettime()
      assert.same(200, status)

      local rows = finish()
      local later, workers = after(rows, acknowledged_at)
      assert.is_true(#rows > 50, "too few requests to judge: " .. #rows)
      assert.same(2, workers)
      assert.is_nil(later[401], "stale refusals after re-approval: " .. tostring(later[401]))
      assert.is_true((later[200] or 0) > 0)
    end)

    it("refuses every request sent after a deletion returns", function()
      local developer, key = approved_developer_with_key("stream-delete@example.com")
      local finish = start_streams(key, SECONDS, 2)
      socket.sleep(SECONDS / 2)
      local status = helpers.admin("DELETE", "/developers/" .. developer.id)
      local acknowledged_at = socket.gettime()
      assert.same(204, status)

      local rows = finish()
      local later, workers = after(rows, acknowledged_at)
      assert.is_true(#rows > 50, "too few requests to judge: " .. #rows)
      assert.same(2, workers)
      assert.is_nil(later[200], "stale passes after deletion: " .. tostring(later[200]))
      assert.is_true((later[401] or 0) > 0)
    end)
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)

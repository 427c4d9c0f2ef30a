-- The host runs two nginx workers, each with its own store connection, and
-- names the worker that sent each response in `X-Host-Worker`. A change made through
-- one worker must be seen through the other on its next request.

local helpers = require "helpers"


-- socket.http closes the connection after each request, so the kernel may
-- hand each new connection to either worker.
local MAX_REQUESTS = 200


local function worker_of(headers)
  return headers and headers["x-host-worker"]
end


-- Sends GET requests for `id` until both workers have responded, or until
-- MAX_REQUESTS. Returns the set of worker pids and the status labels seen.
local function read_through_both_workers(id)
  local workers, worker_count, labels = {}, 0, {}
  for _ = 1, MAX_REQUESTS do
    local status, text, json, headers = helpers.admin("GET", "/developers/" .. id)
    assert(status == 200, "GET /developers/" .. id .. ": " .. tostring(status) .. " " .. text)
    local pid = assert(worker_of(headers), "no X-Host-Worker header")
    labels[json.status_label] = (labels[json.status_label] or 0) + 1
    if not workers[pid] then
      workers[pid] = true
      worker_count = worker_count + 1
      if worker_count == 2 then
        break
      end
    end
  end
  return workers, worker_count, labels
end


describe("developer-portal host workers", function()
  local developer

  setup(function()
    assert(helpers.start_host())
    developer = helpers.register("worker@example.com", "Worker Test")
  end)

  teardown(function()
    helpers.stop_host()
  end)

  describe("/developers/{id}", function()
    it("is answered by two workers", function()
      -- Both workers now hold an open store connection with the old status.
      local _, count, labels = read_through_both_workers(developer.id)
      assert.same(2, count)
      assert.same({ requested = labels.requested }, labels)
    end)

    for _, step in ipairs({
      { status = 0, label = "approved" },
      { status = 3, label = "revoked" },
      { status = 0, label = "approved" },
    }) do
      it("shows a change to " .. step.label .. " on both workers", function()
        local status, _, json, headers = helpers.admin("PATCH", "/developers/" .. developer.id,
                                                       { status = step.status })
        assert.same(200, status)
        assert.same(step.label, json.developer.status_label)
        local writer = worker_of(headers)
        assert.is_string(writer)

        local workers, count, labels = read_through_both_workers(developer.id)
        assert.same(2, count)
        assert.is_true(workers[writer])
        assert.same({ [step.label] = labels[step.label] }, labels)
      end)
    end

    it("shows a deletion on both workers", function()
      local status, _, _, headers = helpers.admin("DELETE", "/developers/" .. developer.id)
      assert.same(204, status)
      assert.is_string(worker_of(headers))

      local workers, statuses = {}, {}
      local count = 0
      for _ = 1, MAX_REQUESTS do
        local code, _, _, response_headers = helpers.admin("GET", "/developers/" .. developer.id)
        statuses[code] = true
        local pid = worker_of(response_headers)
        if not workers[pid] then
          workers[pid] = true
          count = count + 1
          if count == 2 then
            break
          end
        end
      end
      assert.same(2, count)
      assert.same({ [404] = true }, statuses)
    end)
  end)

  describe("/developers/counts", function()
    it("matches on both workers after a registration", function()
      helpers.register("second-worker@example.com", "Second Worker")
      local workers, count = {}, 0
      for _ = 1, MAX_REQUESTS do
        local status, _, json, headers = helpers.admin("GET", "/developers/counts")
        assert.same(200, status)
        assert.same({ approved = 0, requested = 1, rejected = 0, revoked = 0, total = 1 }, json)
        local pid = worker_of(headers)
        if not workers[pid] then
          workers[pid] = true
          count = count + 1
          if count == 2 then
            break
          end
        end
      end
      assert.same(2, count)
    end)
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)

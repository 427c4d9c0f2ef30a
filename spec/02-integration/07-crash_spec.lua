-- Kills nginx processes with SIGKILL while clients register developers and
-- change their statuses, restarts the host on the same prefix, and checks
-- that every acknowledged change survived.
--
-- Each client works through groups of steps for one developer: register
-- (requested), approve, revoke, approve. After a failed step the client skips
-- the rest of that group, so a developer has at most one step that may have
-- been applied without its response arriving.

local helpers = require "helpers"
local reliability = require "fixtures.reliability"
local socket = require "socket"


local CLIENTS = 4
local GROUPS_PER_CLIENT = 60
local CLIENT_SECONDS = 40
local PAUSE_BETWEEN_KILLS = 0.4
-- Worker kills before each full kill of master and workers.
local KILL_ROUNDS = { 3, 2 }

local CONF = "portal_auth = basic-auth\nportal_register_rate_limit = 0\n"
local PASSWORD = "correct horse battery"
local PLANNED = { "requested", "approved", "revoked", "approved" }


local function store_file()
  return helpers.prefix .. "/developer_portal.db"
end


local function consumers_file()
  return helpers.prefix .. "/kong-host.db"
end


local function build_plans()
  local plans = {}
  for client = 1, CLIENTS do
    local plan = {}
    for group = 1, GROUPS_PER_CLIENT do
      local email = string.format("crash-%d-%d@example.com", client, group)
      local name = email
      plan[#plan + 1] = { group = name, port = helpers.ports.portal_api, method = "POST",
                          path = "/register", email = email, index = 1,
                          body = { email = email, password = PASSWORD,
                                   meta = { full_name = "Crash Test" } } }
      for index = 2, #PLANNED do
        plan[#plan + 1] = { group = name, port = helpers.ports.admin, method = "PATCH",
                            path = "/developers/" .. email, email = email, index = index,
                            body = { status = PLANNED[index] } }
      end
    end
    plans[client] = plan
  end
  return plans
end


-- Returns the uncaught-error lines of an error log's text, with the
-- patterns of spec/helpers.lua.
local function uncaught_errors_in(text)
  local read_log = helpers.error_log
  helpers.error_log = function()
    return text
  end
  local lines = helpers.uncaught_errors()
  helpers.error_log = read_log
  return lines
end


describe("crashes of nginx processes", function()
  local developers = {}
  local kills = { workers = 0, full = 0, killed_pids = {} }
  local figures = { requests = 0, acknowledged = 0, connection_errors = 0, skipped = 0,
                    after_restart = 0, other = 0, applied_unanswered = 0 }
  local old_logs = {}
  local last_restart_at

  -- Kills the whole host: the master first, so that it cannot respawn the
  -- workers, then every worker.
  local function kill_host()
    local master = assert(reliability.master_pid(), "the nginx master is not running")
    local workers = reliability.worker_pids(master)
    assert(reliability.kill(master), "the master survived SIGKILL")
    for _, pid in ipairs(workers) do
      assert(reliability.kill(pid), "worker " .. pid .. " survived SIGKILL")
      kills.killed_pids[pid] = true
    end
    kills.full = kills.full + 1
  end

  local function kill_one_worker()
    local master = assert(reliability.master_pid(), "the nginx master is not running")
    local workers = reliability.worker_pids(master)
    local victim = workers[kills.workers % #workers + 1]
    assert(reliability.kill(victim), "worker " .. victim .. " survived SIGKILL")
    kills.killed_pids[victim] = true
    kills.workers = kills.workers + 1
    local respawned = reliability.wait_for_workers(master, 2, kills.killed_pids, 5)
    assert(#respawned == 2, "the master did not respawn the killed worker")
  end

  setup(function()
    assert(helpers.start_host({ conf = CONF }))
    local plans = build_plans()
    local wait = reliability.run_plans(plans, CLIENT_SECONDS)
    socket.sleep(0.3 + PAUSE_BETWEEN_KILLS)

    for _, worker_kills in ipairs(KILL_ROUNDS) do
      for _ = 1, worker_kills do
        kill_one_worker()
        socket.sleep(PAUSE_BETWEEN_KILLS)
      end
      kill_host()
      -- The log of the crashed host is kept apart: the killed workers are
      -- logged there as "exited on signal 9".
      local log = helpers.prefix .. "/logs/error.log"
      old_logs[#old_logs + 1] = helpers.read_file(log) or ""
      assert(os.rename(log, string.format("%s/logs/error-crash-%d.log", helpers.prefix, kills.full)))
      assert(reliability.restart_host())
      last_restart_at = socket.gettime()
      socket.sleep(PAUSE_BETWEEN_KILLS)
    end

    for client, result in ipairs(wait()) do
      assert(result.done, "the crash clients did not finish in time")
      for _, record in ipairs(result.records) do
        local step = record.step
        developers[step.email] = developers[step.email] or { email = step.email, steps = {} }
        developers[step.email].steps[step.index] = record
        figures.requests = figures.requests + 1
        if record.status == 200 or record.status == 201 then
          figures.acknowledged = figures.acknowledged + 1
          if record.sent > last_restart_at then
            figures.after_restart = figures.after_restart + 1
          end
        elseif record.outcome:match("^error:") then
          figures.connection_errors = figures.connection_errors + 1
        elseif record.outcome == "skipped" then
          figures.skipped = figures.skipped + 1
        else
          figures.other = figures.other + 1
        end
      end
      assert(#result.records > 0, "client " .. client .. " printed nothing: " .. result.errors)
    end
  end)

  teardown(function()
    helpers.stop_host()
    print(string.format("\n07-crash: %d requests, %d acknowledged (%d after the last restart), " ..
                        "%d dropped connections (%d of those requests applied), %d skipped, %d other; " ..
                        "%d worker kills and %d master kills survived",
                        figures.requests, figures.acknowledged, figures.after_restart,
                        figures.connection_errors, figures.applied_unanswered, figures.skipped,
                        figures.other,
                        kills.workers, kills.full))
  end)

  it("answers with success or a dropped connection", function()
    local unexpected = {}
    for _, developer in pairs(developers) do
      for _, record in pairs(developer.steps) do
        local code = record.status
        if code and code ~= 200 and code ~= 201 then
          unexpected[#unexpected + 1] = record.step.method .. " " .. record.step.path .. ": "
                                        .. record.outcome .. " " .. record.body
        end
      end
    end
    assert.same({}, unexpected)
    -- How many requests land after the last restart depends on the machine's
    -- speed, so it is reported, not asserted; serving after a restart is the
    -- subject of its own test below.
  end)

  it("keeps every acknowledged change", function()
    for email, developer in pairs(developers) do
      -- The acknowledged steps form a prefix of the plan; one more step may
      -- have been applied without its response.
      local acknowledged, attempted = 0, 0
      for index = 1, #PLANNED do
        local record = developer.steps[index]
        if record and (record.status == 200 or record.status == 201) then
          assert.same(acknowledged, index - 1, email .. ": acknowledged after a failure")
          acknowledged = index
          attempted = index
          if record.status == 200 then
            assert.is_true(record.json.changed, email .. " step " .. index .. " changed nothing")
          end
        elseif record and record.outcome:match("^error:") then
          attempted = index
        end
      end

      local status, text, json = helpers.admin("GET", "/developers/" .. email)
      if acknowledged == 0 then
        assert.is_true(status == 404 or (status == 200 and json.status_label == "requested"),
                       email .. ": " .. tostring(status) .. " " .. text)
        if status == 200 then
          figures.applied_unanswered = figures.applied_unanswered + 1
        end
      else
        assert.same(200, status, email .. ": " .. text)
        local final = json.status_label
        local allowed = { [PLANNED[acknowledged]] = true }
        if attempted > acknowledged then
          allowed[PLANNED[attempted]] = true
        end
        assert.is_true(allowed[final], email .. " is " .. final .. " after step " .. acknowledged)
        if attempted > acknowledged and final == PLANNED[attempted] then
          figures.applied_unanswered = figures.applied_unanswered + 1
        end

        local _, _, history = helpers.admin("GET", "/developers/" .. email .. "/history")
        assert.is_true(#history.data == acknowledged or #history.data == attempted,
                       email .. " has " .. #history.data .. " history rows")
        for i, entry in ipairs(history.data) do
          assert.same(PLANNED[i], entry.to_label)
        end
        assert.same(final, history.data[#history.data].to_label)

        local rows = reliability.sqlite(consumers_file(),
          "SELECT count(*) FROM consumers WHERE custom_id = '" .. json.id .. "'")
        assert.same("1", rows[1][1], email .. " has no consumer")
      end
    end
  end)

  it("leaves store files that pass integrity_check", function()
    for _, file in ipairs({ store_file(), consumers_file() }) do
      local _, output = reliability.sqlite(file, "PRAGMA integrity_check")
      assert.same("ok\n", output)
    end
  end)

  it("serves registrations and changes after the restart", function()
    local developer = helpers.register("after-crash@example.com", "After Crash")
    local status, text, json = helpers.admin("PATCH", "/developers/" .. developer.id,
                                             { status = "approved" })
    assert.same(200, status, text)
    assert.same("approved", json.developer.status_label)

    local rows = reliability.sqlite(store_file(), "SELECT count(*) FROM developers")
    local _, _, counts = helpers.admin("GET", "/developers/counts")
    assert.same(tonumber(rows[1][1]), counts.total)
  end)

  it("logs only the killed workers before the restarts", function()
    local unexpected = {}
    for _, text in ipairs(old_logs) do
      for _, line in ipairs(uncaught_errors_in(text)) do
        local pid = tonumber(line:match("worker process (%d+) exited on signal 9"))
        if not (pid and kills.killed_pids[pid]) then
          unexpected[#unexpected + 1] = line
        end
      end
    end
    assert.same({}, unexpected)
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)

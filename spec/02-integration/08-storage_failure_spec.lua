-- Breaks the developer store under a running host: another process holds its
-- write lock, its folder is read-only for the worker user, its disk is full.
-- Each failure must return 503 with a message that names the cause, write
-- nothing, and end as soon as the cause is gone.

local helpers = require "helpers"
local reliability = require "fixtures.reliability"


local PASSWORD = "correct horse battery"
-- Longer than the store's 2 s busy timeout, so that every write gives up.
local LOCK_SECONDS = 20
local TMPFS_SIZE = "1m"
local MAX_FILLING_WRITES = 20

local LOCKED = "another process holds a lock on it; retry shortly"
local READ_ONLY = "the file or its folder is read-only for the nginx worker user"
local DISK_FULL = "the disk is full"
local PUBLIC_UNAVAILABLE = "the developer portal is unavailable; try again later"


local function conf(store)
  local text = "portal_auth = basic-auth\nportal_register_rate_limit = 0\n"
  if store then
    text = text .. "developer_portal_db = " .. store .. "\n"
  end
  return text
end


local function consumers_file()
  return helpers.prefix .. "/kong-host.db"
end


local function count_consumers(email)
  local rows = reliability.sqlite(consumers_file(),
    "SELECT count(*) FROM consumers WHERE lower(username) = lower('" .. email .. "')")
  return tonumber(rows[1] and rows[1][1])
end


local function registration(email)
  return { email = email, password = PASSWORD, meta = { full_name = "Store Failure" } }
end


local function history_length(email)
  local status, text, json = helpers.admin("GET", "/developers/" .. email .. "/history")
  assert(status == 200, "GET history of " .. email .. ": " .. tostring(status) .. " " .. text)
  return #json.data
end


-- Uncaught errors of every host this spec started; each start wipes the log.
local uncaught = {}

local function collect_uncaught_errors()
  for _, line in ipairs(helpers.uncaught_errors()) do
    uncaught[#uncaught + 1] = line
  end
end


describe("store locked by another process", function()
  local store
  local release
  local answers = {}

  setup(function()
    assert(helpers.start_host({ conf = conf() }))
    store = helpers.prefix .. "/developer_portal.db"
    helpers.register("locked-requested@example.com")
    helpers.register("locked-deleted@example.com")
    -- Both workers open the store before the lock, as in a running gateway.
    for _ = 1, 10 do
      helpers.admin("GET", "/developers/counts")
    end

    local err
    release, err = reliability.hold_exclusive_lock(store, LOCK_SECONDS)
    assert(release, err)

    -- The writes run in parallel: each one blocks its worker for the busy
    -- timeout.
    local admin, portal = helpers.ports.admin, helpers.ports.portal_api
    local plans = {
      { { port = admin, method = "PATCH", path = "/developers/locked-requested@example.com",
          body = { status = "approved" } } },
      { { port = admin, method = "POST", path = "/developers",
          body = registration("locked-created@example.com") } },
      { { port = portal, method = "POST", path = "/register",
          body = registration("locked-registered@example.com") } },
      { { port = admin, method = "DELETE", path = "/developers/locked-deleted@example.com" } },
    }
    for i, result in ipairs(reliability.run_plans(plans, 15)()) do
      answers[i] = result.records[1]
      assert(answers[i], "a client printed nothing: " .. result.errors)
    end
  end)

  teardown(function()
    if release then
      release()
    end
    collect_uncaught_errors()
    helpers.stop_host()
  end)

  it("answers admin writes with 503 naming the lock", function()
    for i = 1, 2 do
      assert.same(503, answers[i].status, answers[i].body)
      assert.matches("database is locked", answers[i].json.message, 1, true)
      assert.matches(LOCKED, answers[i].json.message, 1, true)
    end
  end)

  it("answers a registration with a public 503", function()
    assert.same(503, answers[3].status, answers[3].body)
    assert.same(PUBLIC_UNAVAILABLE, answers[3].json.message)
  end)

  it("answers a deletion with 503 that asks for a retry", function()
    assert.same(503, answers[4].status, answers[4].body)
    assert.matches(LOCKED, answers[4].json.message, 1, true)
    assert.matches("repeat the DELETE", answers[4].json.message, 1, true)
  end)

  it("serves reads while the lock is held", function()
    local status, text, json = helpers.admin("GET", "/developers/locked-requested@example.com")
    assert.same(200, status, text)
    assert.same("requested", json.status_label)
    status = helpers.admin("GET", "/developers/counts")
    assert.same(200, status)
  end)

  it("writes nothing while the lock is held", function()
    assert.is_true(release())
    release = nil
    assert.same(1, history_length("locked-requested@example.com"))
    for _, email in ipairs({ "locked-created@example.com", "locked-registered@example.com" }) do
      assert.same(404, (helpers.admin("GET", "/developers/" .. email)))
      assert.same(0, count_consumers(email))
    end
    -- The consumer goes first, so only the developer row is left.
    assert.same(200, (helpers.admin("GET", "/developers/locked-deleted@example.com")))
    assert.same(1, history_length("locked-deleted@example.com"))
  end)

  it("resumes writes once the lock is released", function()
    local status, text = helpers.admin("PATCH", "/developers/locked-requested@example.com",
                                       { status = "approved" })
    assert.same(200, status, text)
    assert.same(2, history_length("locked-requested@example.com"))
    status, text = helpers.portal("POST", "/register", registration("locked-registered@example.com"))
    assert.same(201, status, text)
    assert.same(1, count_consumers("locked-registered@example.com"))

    status, text = helpers.admin("DELETE", "/developers/locked-deleted@example.com")
    assert.same(204, status, text)
    assert.same(404, (helpers.admin("GET", "/developers/locked-deleted@example.com")))
  end)
end)


describe("store folder read-only for the worker user", function()
  local folder, store

  local function set_read_only(read_only)
    local dir_mode, file_mode = "755", "644"
    if read_only then
      dir_mode, file_mode = "555", "444"
    end
    assert(reliability.shell(string.format("chmod %s %s && chmod %s %s/*", dir_mode,
                                           reliability.quote(folder), file_mode,
                                           reliability.quote(folder))))
  end

  setup(function()
    -- The store lives outside the prefix, which host/run hands to the
    -- worker user at every start.
    folder = helpers.prefix .. "-readonly"
    store = folder .. "/developer_portal.db"
    assert(reliability.shell("rm -rf " .. reliability.quote(folder) .. " && mkdir -p "
                             .. reliability.quote(folder)))
    if reliability.capture("id -u"):match("^0") then
      assert(reliability.shell("chown nobody:nogroup " .. reliability.quote(folder)))
    end
    assert(helpers.start_host({ conf = conf(store) }))
    helpers.register("readonly@example.com")
    helpers.stop_host()
    set_read_only(true)
    assert(reliability.restart_host())
  end)

  teardown(function()
    collect_uncaught_errors()
    helpers.stop_host()
    reliability.shell("chmod -R u+w " .. reliability.quote(folder))
    reliability.shell("rm -rf " .. reliability.quote(folder))
  end)

  it("answers with 503 naming the cause", function()
    for _, request in ipairs({
      { "GET", "/developers/readonly@example.com" },
      { "PATCH", "/developers/readonly@example.com", { status = "approved" } },
      { "POST", "/developers", registration("readonly-created@example.com") },
    }) do
      local status, text, json = helpers.admin(request[1], request[2], request[3])
      assert.same(503, status, text)
      assert.matches(store, json.message, 1, true)
      assert.matches(READ_ONLY, json.message, 1, true)
    end
    local status, _, json = helpers.portal("POST", "/register",
                                           registration("readonly-registered@example.com"))
    assert.same(503, status)
    assert.same(PUBLIC_UNAVAILABLE, json.message)
  end)

  it("logs an error naming the file", function()
    local found = false
    for line in helpers.error_log():gmatch("[^\n]+") do
      if line:find("[error]", 1, true) and line:find(store, 1, true)
         and line:find(READ_ONLY, 1, true) then
        found = true
      end
    end
    assert.is_true(found, "no [error] line names " .. store)
  end)

  it("creates no consumer for a refused registration", function()
    assert.same(0, count_consumers("readonly-registered@example.com"))
    assert.same(0, count_consumers("readonly-created@example.com"))
  end)

  it("serves again once the folder is writable", function()
    collect_uncaught_errors()
    helpers.stop_host()
    set_read_only(false)
    if reliability.capture("id -u"):match("^0") then
      assert(reliability.shell("chown -R nobody:nogroup " .. reliability.quote(folder)))
    end
    assert(reliability.restart_host())
    local status, text, json = helpers.admin("PATCH", "/developers/readonly@example.com",
                                             { status = "approved" })
    assert.same(200, status, text)
    assert.same("approved", json.developer.status_label)
    assert.same(2, history_length("readonly@example.com"))
    assert.same(404, (helpers.admin("GET", "/developers/readonly-created@example.com")))
  end)
end)


describe("store on a full disk", function()
  local mount_point, store
  local mounted = false
  local refused = {}
  local accepted = {}

  setup(function()
    mount_point = helpers.prefix .. "-full"
    store = mount_point .. "/developer_portal.db"
    reliability.shell("mkdir -p " .. reliability.quote(mount_point))
    mounted = reliability.shell(string.format("mount -t tmpfs -o size=%s tmpfs %s 2>/dev/null",
                                              TMPFS_SIZE, reliability.quote(mount_point)))
    if not mounted then
      return
    end
    if reliability.capture("id -u"):match("^0") then
      assert(reliability.shell("chown nobody:nogroup " .. reliability.quote(mount_point)))
    end
    assert(helpers.start_host({ conf = conf(store) }))
    helpers.register("full-requested@example.com")
    for _ = 1, 10 do
      helpers.admin("GET", "/developers/counts")
    end

    -- Fills every free block of the file system, then writes until the
    -- store runs out of room.
    local available = reliability.capture("df -k --output=avail " .. reliability.quote(mount_point))
    available = tonumber(available:match("(%d+)%s*$"))
    reliability.shell(string.format("dd if=/dev/zero of=%s/filler bs=1k count=%d 2>/dev/null",
                                    reliability.quote(mount_point), available))
    for i = 1, MAX_FILLING_WRITES do
      local email = "full-" .. i .. "@example.com"
      local status, text, json = helpers.portal("POST", "/register", registration(email))
      if status == 201 then
        accepted[#accepted + 1] = email
      else
        refused[#refused + 1] = { email = email, status = status, text = text, json = json }
        break
      end
    end
  end)

  teardown(function()
    if mounted then
      collect_uncaught_errors()
      helpers.stop_host()
      reliability.shell("umount " .. reliability.quote(mount_point))
    end
    reliability.shell("rmdir " .. reliability.quote(mount_point) .. " 2>/dev/null")
  end)

  it("answers a registration with a public 503", function()
    if not mounted then
      pending("mount -t tmpfs was refused on this machine")
      return
    end
    assert.same(1, #refused, "the disk never filled up")
    assert.same(503, refused[1].status, refused[1].text)
    assert.same(PUBLIC_UNAVAILABLE, refused[1].json.message)
  end)

  it("answers admin writes with 503 saying the disk is full", function()
    if not mounted then
      pending("mount -t tmpfs was refused on this machine")
      return
    end
    for _, request in ipairs({
      { "PATCH", "/developers/full-requested@example.com", { status = "approved" } },
      { "POST", "/developers", registration("full-created@example.com") },
    }) do
      local status, text, json = helpers.admin(request[1], request[2], request[3])
      assert.same(503, status, text)
      assert.matches(DISK_FULL, json.message, 1, true)
      assert.matches(store, json.message, 1, true)
    end
    local found = false
    for line in helpers.error_log():gmatch("[^\n]+") do
      if line:find("[error]", 1, true) and line:find(store, 1, true)
         and line:find(DISK_FULL, 1, true) then
        found = true
      end
    end
    assert.is_true(found, "no [error] line says the disk is full")
  end)

  it("leaves no partial developer", function()
    if not mounted then
      pending("mount -t tmpfs was refused on this machine")
      return
    end
    for _, email in ipairs({ refused[1].email, "full-created@example.com" }) do
      assert.same(404, (helpers.admin("GET", "/developers/" .. email)))
      assert.same(0, count_consumers(email))
    end
    for _, email in ipairs(accepted) do
      assert.same(200, (helpers.admin("GET", "/developers/" .. email)))
      assert.same(1, count_consumers(email))
    end
    assert.same(1, history_length("full-requested@example.com"))
  end)

  it("serves writes again once space is freed", function()
    if not mounted then
      pending("mount -t tmpfs was refused on this machine")
      return
    end
    os.remove(mount_point .. "/filler")
    local status, text = helpers.admin("PATCH", "/developers/full-requested@example.com",
                                       { status = "approved" })
    assert.same(200, status, text)
    status, text = helpers.portal("POST", "/register", registration(refused[1].email))
    assert.same(201, status, text)
    assert.same(1, count_consumers(refused[1].email))
    local _, output = reliability.sqlite(store, "PRAGMA integrity_check")
    assert.same("ok\n", output)
  end)
end)


describe("storage failures", function()
  it("cause no uncaught Lua error in the error log", function()
    collect_uncaught_errors()
    assert.same({}, uncaught)
  end)
end)

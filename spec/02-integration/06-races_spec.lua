-- Concurrent clients change the same developers at once, through both nginx
-- workers, with conflicting targets. Every response is recorded and checked
-- against what the store applied.
--
-- To see every applied change, including those of developers that end up
-- deleted (deleting a developer deletes its history), the spec adds an audit
-- table with two triggers to the store file before the race: one copies each
-- new status_history row, the other records each deleted developer. The
-- triggers run inside the plugin's own transactions, so the audit order is
-- the commit order.

local helpers = require "helpers"
local reliability = require "fixtures.reliability"


local CLIENTS = 8
local ROUNDS = 3
local DEVELOPERS_PER_GROUP = 10
local RACE_SECONDS = 40
local EMAIL_ROUNDS = 3
-- One spelling per registering client; "#" is the round number.
local SPELLINGS = {
  "Race#@Example.com", "race#@example.com", "RACE#@EXAMPLE.COM", "rAce#@example.com",
  "raCe#@example.com", "racE#@example.com", "race#@Example.com", "race#@EXAMPLE.com",
  "Race#@example.COM", "RACE#@example.com",
}
local EMAIL_CLIENTS = #SPELLINGS

local CONF = "portal_auth = basic-auth\nportal_register_rate_limit = 0\n"
local PASSWORD = "correct horse battery"

local CODE_OF = { approved = 0, requested = 1, rejected = 2, revoked = 3 }
local LABEL_OF = { [0] = "approved", [1] = "requested", [2] = "rejected", [3] = "revoked" }

-- The transition table of the product (see README's status table).
local ALLOWED = {
  requested = { approved = true, rejected = true },
  approved = { revoked = true },
  revoked = { approved = true },
  rejected = { approved = true },
}

-- Each group starts in one status and receives two conflicting requests.
local GROUPS = {
  { name = "requested", start = "requested", ops = { "approved", "rejected" } },
  { name = "approved", start = "approved", ops = { "revoked", "delete" } },
  { name = "revoked", start = "revoked", ops = { "approved", "delete" } },
}

local AUDIT_SQL = [[
CREATE TABLE race_audit (
  seq          INTEGER PRIMARY KEY AUTOINCREMENT,
  developer_id TEXT NOT NULL,
  from_status  INTEGER,
  to_status    INTEGER
);
CREATE TRIGGER race_audit_change AFTER INSERT ON status_history BEGIN
  INSERT INTO race_audit (developer_id, from_status, to_status)
  SELECT id, NEW.from_status, NEW.to_status FROM developers WHERE seq = NEW.developer_seq;
END;
CREATE TRIGGER race_audit_delete AFTER DELETE ON developers BEGIN
  INSERT INTO race_audit (developer_id, from_status, to_status)
  VALUES (OLD.id, OLD.status, NULL);
END;
]]


local function store_file()
  return helpers.prefix .. "/developer_portal.db"
end


local function consumers_file()
  return helpers.prefix .. "/kong-host.db"
end


local function create_developer(email, start)
  local status, text, json = helpers.admin("POST", "/developers", {
    email = email,
    password = PASSWORD,
    meta = { full_name = "Race Developer" },
  })
  assert(status == 201, "POST /developers " .. email .. ": " .. tostring(status) .. " " .. text)
  local path = "/developers/" .. json.id
  local steps = { requested = {}, approved = { 0 }, revoked = { 0, 3 } }
  for _, code in ipairs(steps[start]) do
    local patched, body = helpers.admin("PATCH", path, { status = code })
    assert(patched == 200, "PATCH " .. path .. ": " .. tostring(patched) .. " " .. body)
  end
  local _, _, history = helpers.admin("GET", path .. "/history")
  return { id = json.id, email = email, start = start, group = start,
           setup_rows = #history.data, answers = {} }
end


-- Builds one plan per client: ROUNDS passes over every developer. All
-- clients take the developers in the same shuffled order, so that they reach
-- each developer at about the same moment, and send the group's operations
-- in turn.
local function build_plans(developers)
  math.randomseed(20240601)
  local orders = {}
  for round = 1, ROUNDS do
    local order = {}
    for i = 1, #developers do
      order[i] = i
    end
    for i = #order, 2, -1 do
      local j = math.random(i)
      order[i], order[j] = order[j], order[i]
    end
    orders[round] = order
  end

  local plans = {}
  for client = 1, CLIENTS do
    local plan = {}
    for round = 1, ROUNDS do
      for _, index in ipairs(orders[round]) do
        local developer = developers[index]
        local ops = developer.ops
        local op = ops[(client + round) % #ops + 1]
        local step = { port = helpers.ports.admin, path = "/developers/" .. developer.id,
                       developer = developer, op = op }
        if op == "delete" then
          step.method = "DELETE"
        else
          step.method = "PATCH"
          step.body = { status = op }
        end
        plan[#plan + 1] = step
      end
    end
    plans[client] = plan
  end
  return plans
end


-- Returns the audit rows per developer id, in commit order.
local function read_audit()
  local rows, output = reliability.sqlite(store_file(),
    "SELECT developer_id, from_status, to_status FROM race_audit ORDER BY seq")
  local audit = {}
  for _, row in ipairs(rows) do
    assert(#row == 3, "unexpected sqlite3 output: " .. output)
    local id = row[1]
    audit[id] = audit[id] or {}
    audit[id][#audit[id] + 1] = {
      from = LABEL_OF[tonumber(row[2])],
      to = row[3] ~= "" and LABEL_OF[tonumber(row[3])] or "deleted",
    }
  end
  return audit
end


local function count_consumers(where)
  local rows = reliability.sqlite(consumers_file(), "SELECT count(*) FROM consumers WHERE " .. where)
  return tonumber(rows[1] and rows[1][1])
end


local function sorted_keys(set)
  local keys = {}
  for key, count in pairs(set) do
    for _ = 1, count do
      keys[#keys + 1] = key
    end
  end
  table.sort(keys)
  return keys
end


describe("concurrent status changes", function()
  local developers = {}
  local records = {}
  local audit
  local figures = { requests = 0, conflicts = 0, changed = 0, unchanged = 0, deleted = 0,
                    not_found = 0, other = 0 }

  setup(function()
    assert(helpers.start_host({ conf = CONF }))
    for _, group in ipairs(GROUPS) do
      for i = 1, DEVELOPERS_PER_GROUP do
        local developer = create_developer(string.format("race-%s-%d@example.com", group.name, i),
                                           group.start)
        developer.ops = group.ops
        developers[#developers + 1] = developer
      end
    end
    local _, output = reliability.sqlite(store_file(), AUDIT_SQL)
    assert(output == "", "could not add the audit triggers: " .. output)

    local plans = build_plans(developers)
    local results = reliability.run_plans(plans, RACE_SECONDS)()
    for client, result in ipairs(results) do
      assert(result.done, "the race clients did not finish in time")
      assert(#result.records == #plans[client],
             string.format("client %d answered %d of %d requests: %s", client, #result.records,
                           #plans[client], result.errors))
      for _, record in ipairs(result.records) do
        records[#records + 1] = record
        local developer = record.step.developer
        developer.answers[#developer.answers + 1] = record
      end
    end
    audit = read_audit()
  end)

  teardown(function()
    helpers.stop_host()
    print(string.format("\n06-races: %d requests, %d changed, %d unchanged, %d conflicts, " ..
                        "%d deletes, %d not found, %d other",
                        figures.requests, figures.changed, figures.unchanged, figures.conflicts,
                        figures.deleted, figures.not_found, figures.other))
  end)

  it("answers every request with 200, 204, 404 or 409", function()
    local unexpected = {}
    for _, record in ipairs(records) do
      figures.requests = figures.requests + 1
      local status = record.status
      if status == 200 and record.json and record.json.changed == true then
        figures.changed = figures.changed + 1
      elseif status == 200 then
        figures.unchanged = figures.unchanged + 1
      elseif status == 204 then
        figures.deleted = figures.deleted + 1
      elseif status == 404 then
        figures.not_found = figures.not_found + 1
      elseif status == 409 then
        figures.conflicts = figures.conflicts + 1
      else
        figures.other = figures.other + 1
        unexpected[#unexpected + 1] = record.step.method .. " " .. record.step.path .. ": "
                                      .. record.outcome .. " " .. record.body
      end
    end
    assert.same({}, unexpected)
    assert.same(CLIENTS * ROUNDS * #developers, figures.requests)
    assert.is_true(figures.conflicts > 0, "the race produced no conflict")
    assert.is_true(figures.changed > 0, "the race changed nothing")
  end)

  it("names the current status in every 409", function()
    for _, developer in ipairs(developers) do
      -- The statuses the developer held during the race.
      local held = { [developer.start] = true }
      for _, row in ipairs(audit[developer.id] or {}) do
        held[row.to] = true
      end
      for _, record in ipairs(developer.answers) do
        if record.status == 409 then
          local message = record.json and record.json.message or record.body
          local from, to = message:match("from (%a+) to (%a+)")
          assert.is_string(from, "409 without the current status: " .. message)
          assert.is_number(CODE_OF[from], "409 names an unknown status: " .. message)
          assert.same(record.step.op, to)
          assert.is_true(held[from], developer.email .. " was never " .. from .. ": " .. message)
          assert.is_nil(ALLOWED[from][to], "409 for an allowed change: " .. message)
        end
      end
    end
  end)

  it("applies changes in a legal order", function()
    for _, developer in ipairs(developers) do
      local current = developer.start
      for _, row in ipairs(audit[developer.id] or {}) do
        assert.same(current, row.from)
        if row.to ~= "deleted" then
          assert.is_true(ALLOWED[current][row.to] == true,
                         developer.email .. ": illegal change " .. current .. " -> " .. row.to)
        end
        current = row.to
      end
      developer.final = current
    end
  end)

  it("records one history row per acknowledged change", function()
    for _, developer in ipairs(developers) do
      local acknowledged, applied = {}, {}
      local deletes = 0
      for _, record in ipairs(developer.answers) do
        if record.status == 200 and record.json.changed == true then
          acknowledged[record.step.op] = (acknowledged[record.step.op] or 0) + 1
        elseif record.status == 204 then
          deletes = deletes + 1
        end
      end
      for _, row in ipairs(audit[developer.id] or {}) do
        if row.to ~= "deleted" then
          applied[row.to] = (applied[row.to] or 0) + 1
        end
      end
      assert.same(sorted_keys(acknowledged), sorted_keys(applied))
      assert.is_true(deletes <= 1, developer.email .. " was deleted " .. deletes .. " times")
      assert.same(deletes == 1, developer.final == "deleted")
    end
  end)

  it("ends each developer in the last applied status", function()
    for _, developer in ipairs(developers) do
      local path = "/developers/" .. developer.id
      local status, text, json = helpers.admin("GET", path)
      if developer.final == "deleted" then
        assert.same(404, status)
        assert.same(0, count_consumers("custom_id = '" .. developer.id .. "'"))
      else
        assert.same(200, status, text)
        assert.same(developer.final, json.status_label)
        assert.same(1, count_consumers("custom_id = '" .. developer.id .. "'"))

        local _, _, history = helpers.admin("GET", path .. "/history")
        local rows = audit[developer.id] or {}
        assert.same(developer.setup_rows + #rows, #history.data)
        for i, row in ipairs(rows) do
          local entry = history.data[developer.setup_rows + i]
          assert.same(row.from, entry.from_label)
          assert.same(row.to, entry.to_label)
        end
      end
    end
  end)

  it("orders answers consistently with the deletion", function()
    for _, developer in ipairs(developers) do
      local deletion
      for _, record in ipairs(developer.answers) do
        if record.status == 204 then
          deletion = record
        end
      end
      for _, record in ipairs(developer.answers) do
        if deletion and record.status == 200 and record.json.changed == true then
          -- A change applied before the deletion was sent before it ended.
          assert.is_true(record.sent <= deletion.answered, developer.email)
        end
        if record.status == 404 then
          -- Not found only once the deletion has started.
          assert.is_table(deletion, developer.email .. " answered 404 but was never deleted")
          assert.is_true(record.answered >= deletion.sent, developer.email)
        end
      end
    end
  end)

  describe("registration with one email in different letter cases", function()
    for round = 1, EMAIL_ROUNDS do
      it("creates one developer in round " .. round, function()
        local plans = {}
        for client = 1, EMAIL_CLIENTS do
          local email = SPELLINGS[client]:gsub("#", tostring(round))
          plans[client] = { {
            port = helpers.ports.portal_api, method = "POST", path = "/register",
            body = { email = email, password = PASSWORD, meta = { full_name = "Race" } },
          } }
        end

        local results = reliability.run_plans(plans, 20)()
        local created, conflicts, unexpected = {}, 0, {}
        for _, result in ipairs(results) do
          local record = result.records[1]
          assert.is_table(record, "a registration client printed nothing: " .. result.errors)
          if record.status == 201 then
            created[#created + 1] = record.json.developer
          elseif record.status == 409 then
            conflicts = conflicts + 1
            assert.matches("already exists", record.json.message, 1, true)
          else
            unexpected[#unexpected + 1] = record.outcome .. " " .. record.body
          end
        end
        assert.same({}, unexpected)
        assert.same(1, #created)
        assert.same(EMAIL_CLIENTS - 1, conflicts)

        local key = "race" .. round .. "@example.com"
        local rows = reliability.sqlite(store_file(),
          "SELECT id, email FROM developers WHERE email_key = '" .. key .. "'")
        assert.same({ { created[1].id, created[1].email } }, rows)
        assert.same(1, count_consumers("lower(username) = '" .. key .. "'"))
      end)
    end
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)

local helpers = require "helpers"


local CORE = "kong.plugins.developer-portal.core"
local LIB = "developer_portal_core"


-- A stand-in for the Rust library: `init` succeeds unless `init_error` is
-- set, and `answer` returns whatever the test put in `result`.
local function lib_double()
  local lib = { logs = {}, init_calls = {} }

  function lib.init(opts)
    lib.init_calls[#lib.init_calls + 1] = opts
    if lib.init_error then
      return nil, lib.init_error
    end
    return {
      conf_path = "/etc/kong/kong.conf",
      store_path = "/tmp/portal.sqlite",
      warnings = lib.warnings or {},
    }
  end

  function lib.take_logs()
    local logs = lib.logs
    lib.logs = {}
    return logs
  end

  function lib.answer(...)
    lib.arguments = { n = select("#", ...), ... }
    return lib.result[1], lib.result[2]
  end

  return lib
end


describe("developer-portal core", function()
  local saved_kong
  local double, lib, core

  local function load_core(prepare)
    double = helpers.kong_double()
    double.kong.configuration = { prefix = "/usr/local/kong" }
    _G.kong = double.kong
    lib = lib_double()
    if prepare then
      prepare(lib)
    end
    package.loaded[LIB] = lib
    package.loaded[CORE] = nil
    return require(CORE)
  end

  setup(function()
    saved_kong = _G.kong
  end)

  teardown(function()
    _G.kong = saved_kong
    package.loaded[LIB] = nil
    package.loaded[CORE] = nil
  end)

  before_each(function()
    core = load_core()
  end)

  describe("respond()", function()
    it("sends the JSON text with the success status", function()
      lib.result = { '{"id":"1"}' }
      local exit = double:run(core.respond, 201, false, "answer", "a", nil, "c")
      assert.same(201, exit.status)
      assert.same('{"id":"1"}', exit.body)
      assert.same({ ["Content-Type"] = "application/json; charset=utf-8" }, exit.headers)
      assert.same({ n = 3, "a", nil, "c" }, lib.arguments)
    end)

    it("sends 204 without a body", function()
      lib.result = { "{}" }
      local exit = double:run(core.respond, 204, false, "answer")
      assert.same({ status = 204 }, exit)
    end)

    it("stops at the first exit", function()
      lib.result = { "{}" }
      double:run(core.respond, 200, false, "answer")
      assert.same(1, #double.exits)
    end)

    local cases = {
      { kind = "invalid", status = 400 },
      { kind = "unauthorized", status = 401 },
      { kind = "not_found", status = 404 },
      { kind = "conflict", status = 409 },
      { kind = "disabled", status = 501 },
      { kind = "unavailable", status = 503 },
      { kind = "storage", status = 500 },
      { kind = "config", status = 500 },
      { kind = "too_large", status = 413 },
      { kind = "rate_limited", status = 429 },
    }

    for _, case in ipairs(cases) do
      it("maps kind " .. case.kind .. " to " .. case.status, function()
        lib.result = { nil, { kind = case.kind, message = "the message" } }
        local exit = double:run(core.respond, 200, false, "answer")
        assert.same(case.status, exit.status)
        assert.same({ message = "the message" }, exit.body)
      end)
    end

    it("covers every kind in its table", function()
      local kinds = {}
      for _, case in ipairs(cases) do
        kinds[case.kind] = case.status
      end
      assert.same(kinds, core.STATUS_OF_KIND)
    end)

    it("sets Retry-After for rate_limited", function()
      lib.result = { nil, { kind = "rate_limited", message = "slow down", retry_after = 42 } }
      local exit = double:run(core.respond, 200, true, "answer")
      assert.same(429, exit.status)
      assert.same({ message = "slow down" }, exit.body)
      assert.same("42", double.headers["Retry-After"])
    end)

    it("maps an unknown kind to 500", function()
      lib.result = { nil, { kind = "surprise", message = "odd" } }
      local exit = double:run(core.respond, 200, false, "answer")
      assert.same(500, exit.status)
      assert.same({ message = "odd" }, exit.body)
    end)

    it("logs server errors", function()
      lib.result = { nil, { kind = "storage", message = "disk I/O error" } }
      double:run(core.respond, 200, false, "answer")
      assert.same({ "developer-portal: answer failed: disk I/O error" },
                  helpers.logged(double, "err"))
    end)

    it("does not log client errors", function()
      lib.result = { nil, { kind = "conflict", message = "taken" } }
      double:run(core.respond, 200, false, "answer")
      assert.same({}, helpers.logged(double, "err"))
    end)

    it("hides server errors from public clients", function()
      lib.result = { nil, { kind = "storage", message = "disk I/O error at /var/x" } }
      local exit = double:run(core.respond, 201, true, "answer")
      assert.same(500, exit.status)
      assert.same({ message = "the developer portal is unavailable; try again later" },
                  exit.body)
      assert.same({ "developer-portal: answer failed: disk I/O error at /var/x" },
                  helpers.logged(double, "err"))
    end)

    it("shows disabled features to public clients", function()
      lib.result = { nil, { kind = "disabled", message = "registration is closed" } }
      local exit = double:run(core.respond, 201, true, "answer")
      assert.same(501, exit.status)
      assert.same({ message = "registration is closed" }, exit.body)
      assert.same({}, helpers.logged(double, "err"))
    end)

    it("shows client errors to public clients", function()
      lib.result = { nil, { kind = "invalid", message = "email is required" } }
      local exit = double:run(core.respond, 201, true, "answer")
      assert.same(400, exit.status)
      assert.same({ message = "email is required" }, exit.body)
    end)

    it("passes the core's log records to kong.log", function()
      lib.result = { "{}" }
      lib.logs = {
        { level = "info", message = "developer 1 registered as requested" },
        { level = "warn", message = "store is slow" },
      }
      double:run(core.respond, 200, false, "answer")
      assert.same({ "developer 1 registered as requested" }, helpers.logged(double, "info"))
      assert.same({ "store is slow" }, helpers.logged(double, "warn"))
    end)
  end)

  describe("body()", function()
    it("returns the body and its content type", function()
      double = helpers.kong_double({
        body = "status=0",
        headers = { ["content-type"] = "application/x-www-form-urlencoded" },
      })
      _G.kong = double.kong
      package.loaded[CORE] = nil
      core = require(CORE)
      local body, content_type, err = core.body()
      assert.same("status=0", body)
      assert.same("application/x-www-form-urlencoded", content_type)
      assert.is_nil(err)
    end)

    it("returns the error of an unreadable body", function()
      double = helpers.kong_double()
      double.kong.request.get_raw_body = function()
        return nil, "request body did not fit into client body buffer"
      end
      _G.kong = double.kong
      package.loaded[CORE] = nil
      core = require(CORE)
      local body, content_type, err = core.body()
      assert.is_nil(body)
      assert.is_nil(content_type)
      assert.same("request body did not fit into client body buffer", err)
    end)
  end)

  describe("loading", function()
    it("initialises the core with Kong's prefix", function()
      assert.same(1, #lib.init_calls)
      assert.same("/usr/local/kong", lib.init_calls[1].prefix)
      assert.same("/tmp/portal.sqlite", core.settings.store_path)
    end)

    it("logs where the settings came from", function()
      assert.same({
        "developer-portal: settings from /etc/kong/kong.conf, store at /tmp/portal.sqlite",
      }, helpers.logged(double, "notice"))
    end)

    it("logs the core's warnings", function()
      core = load_core(function(l)
        l.warnings = { "portal_auth_conf is set but portal_auth is not" }
      end)
      assert.same({ "developer-portal: portal_auth_conf is set but portal_auth is not" },
                  helpers.logged(double, "warn"))
    end)

    it("raises the core's configuration error", function()
      local ok, err = pcall(load_core, function(l)
        l.init_error = {
          kind = "config",
          message = "portal_auto_approve: invalid boolean 'yes' at kong.conf:3",
        }
      end)
      assert.is_false(ok)
      assert.same("developer-portal: portal_auto_approve: invalid boolean 'yes' at kong.conf:3",
                  err)
    end)
  end)
end)


describe("developer-portal plugin modules", function()
  local saved_kong

  setup(function()
    saved_kong = _G.kong
    _G.kong = helpers.kong_double().kong
    _G.kong.configuration = {}
    package.loaded[LIB] = lib_double()
    package.loaded[CORE] = nil
    -- Kong's typedefs are not available outside Kong; the schema only needs
    -- the two fields it names.
    package.loaded["kong.db.schema.typedefs"] = {
      no_consumer = { type = "foreign", reference = "consumers" },
      protocols_http = { type = "set", elements = { type = "string" } },
    }
  end)

  teardown(function()
    _G.kong = saved_kong
    package.loaded[LIB] = nil
    package.loaded[CORE] = nil
    package.loaded["kong.db.schema.typedefs"] = nil
    package.loaded["kong.plugins.developer-portal.handler"] = nil
    package.loaded["kong.plugins.developer-portal.schema"] = nil
  end)

  describe("handler", function()
    it("has a numeric PRIORITY and a string VERSION", function()
      local handler = require "kong.plugins.developer-portal.handler"
      assert.is_number(handler.PRIORITY)
      assert.is_string(handler.VERSION)
      assert.matches("^%d+%.%d+%.%d+$", handler.VERSION)
    end)
  end)

  describe("schema", function()
    it("is named developer-portal with a config record", function()
      local schema = require "kong.plugins.developer-portal.schema"
      assert.same("developer-portal", schema.name)
      local config
      for _, field in ipairs(schema.fields) do
        if field.config then
          config = field.config
        end
      end
      assert.is_table(config)
      assert.same("record", config.type)
      assert.is_table(config.fields)
    end)
  end)
end)

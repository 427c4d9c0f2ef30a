-- Test helpers: start and stop the host on test ports, talk to it over real
-- HTTP, and read its error log. The ports mirror Kong's own test settings
-- (9000 proxy, 9001 Admin API, 9002 Kong Manager, 9003 portal GUI, 9004
-- Portal API), so a `make run` on the default ports can run alongside.

local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson.safe"


local helpers = {}


-- SPEC_PORT_BASE moves every port (9000 by default), and SPEC_PREFIX the
-- host's prefix, so that two test runs can share a machine.
local base = tonumber(os.getenv("SPEC_PORT_BASE")) or 9000
helpers.ports = {
  proxy = base,
  admin = base + 1,
  gui = base + 2,
  portal_gui = base + 3,
  portal_api = base + 4,
  upstream = base + 10,
}


helpers.repo = os.getenv("PWD")
-- The prefix sits under /tmp by default: the host's workers run as nobody
-- when the tests run as root, and a repository may live in a folder they
-- cannot enter.
helpers.prefix = os.getenv("SPEC_PREFIX")
                 or ("/tmp/developer-portal-test" .. helpers.repo:gsub("[^%w]", "-"))


local function shell(command)
  local ok, _, code = os.execute(command)
  return ok == true or ok == 0, code
end


local function write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end


function helpers.read_file(path)
  local f = io.open(path, "r")
  if not f then
    return nil
  end
  local text = f:read("*a")
  f:close()
  return text
end


--- Sends one HTTP request to 127.0.0.1. A table body is sent as JSON.
-- Returns the status, the body text, the decoded JSON (or nil) and headers.
function helpers.request(port, method, path, body, headers)
  headers = headers or {}
  local source
  if type(body) == "table" then
    body = cjson.encode(body)
    headers["Content-Type"] = headers["Content-Type"] or "application/json"
  end
  if body then
    headers["Content-Length"] = #body
    source = ltn12.source.string(body)
  end
  local chunks = {}
  local _, status, response_headers = http.request({
    url = "http://127.0.0.1:" .. port .. path,
    method = method,
    headers = headers,
    source = source,
    sink = ltn12.sink.table(chunks),
  })
  local text = table.concat(chunks)
  return status, text, cjson.decode(text), response_headers
end


function helpers.admin(method, path, body, headers)
  return helpers.request(helpers.ports.admin, method, path, body, headers)
end


function helpers.portal(method, path, body, headers)
  return helpers.request(helpers.ports.portal_api, method, path, body, headers)
end


function helpers.proxy(method, path, body, headers)
  return helpers.request(helpers.ports.proxy, method, path, body, headers)
end


local function port_env()
  local p = helpers.ports
  return string.format(
    "HOST_PROXY_PORT=%d HOST_ADMIN_PORT=%d HOST_GUI_PORT=%d " ..
    "HOST_PORTAL_GUI_PORT=%d HOST_PORTAL_API_PORT=%d HOST_UPSTREAM_PORT=%d",
    p.proxy, p.admin, p.gui, p.portal_gui, p.portal_api, p.upstream)
end


--- Starts the host with a fresh prefix. `opts.conf` is the text of the
-- kong.conf to use; `opts.env` is extra environment, e.g. "KONG_X=y".
-- Returns true, or false and the output of the failed start.
function helpers.start_host(opts)
  opts = opts or {}
  helpers.stop_host()
  shell("rm -rf '" .. helpers.prefix .. "' && mkdir -p '" .. helpers.prefix .. "'")
  local conf = helpers.prefix .. "/kong.conf"
  write_file(conf, opts.conf or "portal_auth = basic-auth\n")
  local out = helpers.prefix .. "/start.out"
  local ok = shell(string.format("%s %s host/run start --prefix '%s' --conf '%s' > '%s' 2>&1",
                                 port_env(), opts.env or "", helpers.prefix, conf, out))
  if not ok then
    return false, helpers.read_file(out)
  end
  for _ = 1, 100 do
    if type((helpers.admin("GET", "/developers/counts"))) == "number" then
      return true
    end
    shell("sleep 0.05")
  end
  return false, "the host did not answer on port " .. helpers.ports.admin
end


function helpers.stop_host()
  shell("host/run stop --prefix '" .. helpers.prefix .. "' >/dev/null 2>&1")
end


function helpers.error_log()
  return helpers.read_file(helpers.prefix .. "/logs/error.log") or ""
end


--- Returns the error-log lines that show an uncaught Lua error or a crash.
function helpers.uncaught_errors()
  local found = {}
  for line in helpers.error_log():gmatch("[^\n]+") do
    if line:find("runtime error", 1, true)
       or line:find("unknown reason", 1, true)
       or line:find("lua entry thread aborted", 1, true)
       or line:find("exited on signal", 1, true)
       or line:find("unexpected error", 1, true) then
      found[#found + 1] = line
    end
  end
  return found
end


--- Registers a developer through the Portal API and returns its JSON.
function helpers.register(email, full_name, password)
  local status, text, json = helpers.portal("POST", "/register", {
    email = email,
    password = password or "correct horse battery",
    meta = { full_name = full_name or "Test Developer" },
  })
  assert(status == 201, "register " .. email .. ": " .. tostring(status) .. " " .. text)
  return json.developer
end


--- The error `kong.response.exit` raises in a `kong_double`, so that the
-- code under test stops where the real `ngx.exit` would end the request.
helpers.EXITED = setmetatable({}, {
  __tostring = function()
    return "kong.response.exit was called"
  end,
})


local LOG_LEVELS = { "emerg", "alert", "crit", "err", "warn", "notice", "info", "debug" }


--- Creates a test double for the global `kong` that records every
-- response exit, response header and log line. `request` fills the request
-- side: `method`, `path`, `query`, `body` and `headers` (lowercase names).
-- `kong.response.exit` raises `helpers.EXITED`, so run the code under test
-- with `double:run(f, ...)`, which returns the recorded exit or nil.
function helpers.kong_double(request)
  request = request or {}
  local request_headers = request.headers or {}
  local double = { exits = {}, logs = {}, headers = {} }

  local log = {}
  for _, level in ipairs(LOG_LEVELS) do
    log[level] = function(...)
      local parts = { ... }
      for i = 1, select("#", ...) do
        parts[i] = tostring(parts[i])
      end
      double.logs[#double.logs + 1] = { level = level, message = table.concat(parts) }
    end
  end

  double.kong = {
    log = log,
    request = {
      get_method = function()
        return request.method or "GET"
      end,
      get_path = function()
        return request.path or "/"
      end,
      get_raw_query = function()
        return request.query or ""
      end,
      get_header = function(name)
        return request_headers[name:lower()]
      end,
      get_raw_body = function()
        return request.body or ""
      end,
    },
    response = {
      exit = function(status, body, headers)
        double.exits[#double.exits + 1] = { status = status, body = body, headers = headers }
        error(helpers.EXITED, 0)
      end,
      set_header = function(name, value)
        double.headers[name] = value
      end,
    },
  }

  function double.run(_, f, ...)
    local ok, err = pcall(f, ...)
    if not ok and err ~= helpers.EXITED then
      error(err, 0)
    end
    return double.exits[#double.exits]
  end

  return double
end


--- Returns the log lines a `kong_double` recorded at `level`.
function helpers.logged(double, level)
  local messages = {}
  for _, record in ipairs(double.logs) do
    if record.level == level then
      messages[#messages + 1] = record.message
    end
  end
  return messages
end


--- Returns whether something accepts TCP connections on 127.0.0.1:`port`.
-- helpers.request cannot tell: when the connection fails it returns the
-- error message in place of the status.
function helpers.is_listening(port)
  local tcp = require("socket").tcp()
  tcp:settimeout(1)
  local ok = tcp:connect("127.0.0.1", port)
  tcp:close()
  return ok == 1
end


return helpers

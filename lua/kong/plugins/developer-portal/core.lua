-- Loads the Rust core, reads kong.conf once, and turns the core's results
-- into Admin and Portal API responses.
--
-- Kong loads this module in the nginx master process, where the whole
-- environment is visible, so `KONG_*` overrides are read here; the workers
-- inherit the settings through fork.

local lib = require "developer_portal_core"


local kong = kong
local os_getenv = os.getenv
local error = error
local ipairs = ipairs
local tostring = tostring


-- One table maps the core's error kinds to HTTP statuses.
local STATUS_OF_KIND = {
  invalid = 400,
  unauthorized = 401,
  not_found = 404,
  conflict = 409,
  too_large = 413,
  rate_limited = 429,
  disabled = 501,
  unavailable = 503,
  storage = 500,
  config = 500,
}


local JSON_HEADERS = { ["Content-Type"] = "application/json; charset=utf-8" }


local function flush_logs()
  for _, record in ipairs(lib.take_logs()) do
    kong.log[record.level](record.message)
  end
end


local function init()
  local prefix = kong and kong.configuration and kong.configuration.prefix
  local summary, err = lib.init({
    conf_path = os_getenv("DEVELOPER_PORTAL_KONG_CONF"),
    prefix = prefix,
  })
  if not summary then
    error("developer-portal: " .. err.message, 0)
  end

  if kong then
    kong.log.notice("developer-portal: settings from ",
                    summary.conf_path or "defaults and KONG_* variables",
                    ", store at ", summary.store_path)
    for _, warning in ipairs(summary.warnings) do
      kong.log.warn("developer-portal: ", warning)
    end
  end
  return summary
end


local _M = {
  settings = init(),
  lib = lib,
}


--- Calls one core function. Returns its JSON text, or nil and the error
-- table (`kind`, `message`). Log records the core kept are written out.
function _M.call(name, ...)
  local json, err = lib[name](...)
  flush_logs()
  return json, err
end


--- Responds with the status the error's kind maps to. `public` hides the
-- details of server errors from Portal API clients (they are logged in full).
function _M.fail(err, public, name)
  local status = STATUS_OF_KIND[err.kind] or 500
  if err.retry_after then
    kong.response.set_header("Retry-After", tostring(err.retry_after))
  end
  -- A switched-off feature (501) is the admin's choice, not a failure:
  -- its message is shown to everyone and not logged as an error.
  if status >= 500 and err.kind ~= "disabled" then
    kong.log.err("developer-portal: ", name or "request", " failed: ", err.message)
    if public then
      return kong.response.exit(status, {
        message = "the developer portal is unavailable; try again later",
      })
    end
  end
  return kong.response.exit(status, { message = err.message })
end


--- Responds to a success with the core's JSON text.
function _M.ok(status, json)
  if status == 204 then
    return kong.response.exit(204)
  end
  return kong.response.exit(status, json, JSON_HEADERS)
end


--- Calls one core function and responds with its result.
function _M.respond(ok_status, public, name, ...)
  local json, err = _M.call(name, ...)
  if not json then
    return _M.fail(err, public, name)
  end
  return _M.ok(ok_status, json)
end


--- Responds to a failure of Kong's database with a logged 500.
function _M.db_fail(what, err, public)
  return _M.fail({ kind = "storage", message = what .. ": " .. tostring(err) },
                 public, "kong.db")
end


--- Returns the raw request body and its content type, or nil, nil and an
-- error when nginx could not keep the body in memory.
function _M.body()
  local body, err = kong.request.get_raw_body()
  if err then
    return nil, nil, err
  end
  return body, kong.request.get_header("Content-Type")
end


--- Calls `respond(body, content_type)`, or responds 400 when the body
-- cannot be read.
function _M.with_body(respond)
  local body, content_type, err = _M.body()
  if err then
    return kong.response.exit(400, { message = err })
  end
  return respond(body, content_type)
end


_M.STATUS_OF_KIND = STATUS_OF_KIND
_M.JSON_HEADERS = JSON_HEADERS


return _M

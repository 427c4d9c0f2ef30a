-- The part of Kong's PDK the plugin calls, built on ngx_lua. Each function
-- behaves as Kong 3.x documents it; anything Kong lacks is not offered, so
-- the plugin cannot come to depend on it.

local cjson = require "cjson.safe"


local ngx = ngx
local type = type
local select = select
local tostring = tostring
local concat = table.concat
local setmetatable = setmetatable


local function log_at(level)
  return function(...)
    local n = select("#", ...)
    local parts = { ... }
    for i = 1, n do
      parts[i] = tostring(parts[i])
    end
    ngx.log(level, concat(parts, "", 1, n))
  end
end


local log = {
  emerg = log_at(ngx.EMERG),
  alert = log_at(ngx.ALERT),
  crit = log_at(ngx.CRIT),
  err = log_at(ngx.ERR),
  warn = log_at(ngx.WARN),
  notice = log_at(ngx.NOTICE),
  info = log_at(ngx.INFO),
  debug = log_at(ngx.DEBUG),
}


local request = {}


function request.get_method()
  return ngx.req.get_method()
end


-- Kong: the path component of the URL, not normalized, without the query.
function request.get_path()
  local uri = ngx.var.request_uri or ""
  local q = uri:find("?", 1, true)
  return q and uri:sub(1, q - 1) or uri
end


function request.get_raw_query()
  return ngx.var.args or ""
end


function request.get_query(max_args)
  return ngx.req.get_uri_args(max_args or 100)
end


function request.get_header(name)
  if type(name) ~= "string" then
    error("header name must be a string", 2)
  end
  return ngx.var["http_" .. name:lower():gsub("-", "_")]
end


function request.get_headers(max_headers)
  return ngx.req.get_headers(max_headers or 100)
end


-- Kong 3.x returns the body, "" for an empty one, or nil and an error when
-- nginx buffered it to a file.
function request.get_raw_body()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then
    return body
  end
  if ngx.req.get_body_file() then
    return nil, "request body did not fit into client body buffer, " ..
                "consider raising 'client_body_buffer_size'"
  end
  return ""
end


local response = {}


-- Kong: a table body is sent as JSON; `message` bodies too. Headers are set
-- before the status line goes out.
function response.exit(status, body, headers)
  ngx.status = status
  if headers then
    for name, value in pairs(headers) do
      ngx.header[name] = value
    end
  end
  if type(body) == "table" then
    local json, err = cjson.encode(body)
    if not json then
      ngx.log(ngx.ERR, "could not encode the response body: ", err)
      ngx.status = 500
      json = '{"message":"An unexpected error occurred"}'
    end
    ngx.header["Content-Type"] = "application/json; charset=utf-8"
    body = json
  end
  if body ~= nil and status ~= 204 and ngx.req.get_method() ~= "HEAD" then
    ngx.header["Content-Length"] = #body
    ngx.print(body)
  end
  return ngx.exit(status)
end


function response.set_header(name, value)
  ngx.header[name] = value
end


function response.get_status()
  return ngx.status
end


local client = {}


function client.get_ip()
  return ngx.var.realip_remote_addr or ngx.var.remote_addr
end


function client.get_forwarded_ip()
  return ngx.var.remote_addr
end


function client.get_consumer()
  return ngx.ctx.authenticated_consumer
end


function client.get_credential()
  return ngx.ctx.authenticated_credential
end


function client.authenticate(consumer, credential)
  if consumer == nil and credential == nil then
    error("either credential or consumer must be provided", 2)
  end
  ngx.ctx.authenticated_consumer = consumer
  ngx.ctx.authenticated_credential = credential
end


-- kong.configuration is read-only, as in Kong.
local function read_only(values)
  return setmetatable({}, {
    __index = values,
    __newindex = function()
      error("cannot write to configuration", 2)
    end,
  })
end


local _M = {}


--- Creates the global `kong` with the given node configuration.
function _M.install(configuration)
  _G.kong = {
    version = "3.9.0",
    configuration = read_only(configuration),
    log = log,
    request = request,
    response = response,
    client = client,
    ctx = { shared = setmetatable({}, {
      __index = function(_, k) return ngx.ctx[k] end,
      __newindex = function(_, k, v) ngx.ctx[k] = v end,
    }) },
  }
  return _G.kong
end


return _M

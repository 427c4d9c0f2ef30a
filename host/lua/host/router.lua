-- Serves route tables in the shape of a Kong plugin's api.lua:
-- `{ ["/path/:param"] = { GET = function(self, db, helpers) ... end } }`.
-- As Kong's Admin API does, it answers HEAD for GET, OPTIONS with the allowed
-- methods, 405 for other methods, 404 for unknown paths, and turns an
-- uncaught Lua error into a logged 500 with a JSON message.

local kong = kong
local ngx = ngx
local pairs = pairs
local ipairs = ipairs
local xpcall = xpcall
local traceback = debug.traceback
local unescape = ngx.unescape_uri
local concat = table.concat
local sort = table.sort


local METHODS = { "GET", "POST", "PUT", "PATCH", "DELETE" }


local function split(path)
  local segments = {}
  for segment in path:gmatch("[^/]+") do
    segments[#segments + 1] = segment
  end
  return segments
end


--- Compiles route tables into an ordered list; routes with fewer parameters
-- win, so `/developers/invite` is matched before `/developers/:developers`.
local function compile(tables)
  local routes = {}
  for _, routes_table in ipairs(tables) do
    for pattern, verbs in pairs(routes_table) do
      local params = 0
      local segments = split(pattern)
      for _, s in ipairs(segments) do
        if s:sub(1, 1) == ":" then
          params = params + 1
        end
      end
      routes[#routes + 1] = {
        pattern = pattern,
        segments = segments,
        params = params,
        methods = verbs.methods or verbs,
      }
    end
  end
  sort(routes, function(a, b)
    if a.params ~= b.params then
      return a.params < b.params
    end
    return a.pattern < b.pattern
  end)
  return routes
end


local function match(route, segments)
  if #route.segments ~= #segments then
    return nil
  end
  local params = {}
  for i, want in ipairs(route.segments) do
    if want:sub(1, 1) == ":" then
      -- In a path, '+' is a literal plus (RFC 3986), but ngx.unescape_uri
      -- decodes it as a space, as in a form. Escaping it first keeps it.
      params[want:sub(2)] = unescape((segments[i]:gsub("%+", "%%2B")))
    elseif want ~= segments[i] then
      return nil
    end
  end
  return params
end


local function allowed(methods)
  local list = {}
  for _, m in ipairs(METHODS) do
    if methods[m] then
      list[#list + 1] = m
    end
  end
  if methods.GET then
    list[#list + 1] = "HEAD"
  end
  list[#list + 1] = "OPTIONS"
  return concat(list, ", ")
end


local function on_error(err)
  return traceback(err, 2)
end


local _M = {}


function _M.new(tables)
  return { routes = compile(tables) }
end


function _M.serve(router)
  local path = kong.request.get_path()
  local segments = split(path)
  for _, route in ipairs(router.routes) do
    local params = match(route, segments)
    if params then
      local method = kong.request.get_method()
      if method == "HEAD" then
        method = "GET"
      end
      if method == "OPTIONS" then
        ngx.header["Allow"] = allowed(route.methods)
        return kong.response.exit(204)
      end
      local handler = route.methods[method]
      if not handler then
        ngx.header["Allow"] = allowed(route.methods)
        return kong.response.exit(405, { message = "Method not allowed" })
      end
      local self = { params = params, req = { parsed_url = { path = path } } }
      local ok, err = xpcall(handler, on_error, self, kong.db, {})
      if not ok then
        kong.log.err("unexpected error in ", route.pattern, ": ", err)
        return kong.response.exit(500, { message = "An unexpected error occurred" })
      end
      return
    end
  end
  return kong.response.exit(404, { message = "Not found" })
end


return _M

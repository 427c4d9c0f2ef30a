-- Admin API routes for developers. Each handler reads its parameters, calls
-- the core once, and answers; every rule lives in the core.

local core = require "kong.plugins.developer-portal.core"


local kong = kong


-- The admin who made a change, when the Admin API knows it: Kong Manager
-- sends `Kong-Admin-User` with RBAC.
local function admin_name()
  return kong.request.get_header("Kong-Admin-User") or "admin-api"
end


local function with_body(respond)
  local body, content_type, err = core.body()
  if err then
    return kong.response.exit(400, { message = err })
  end
  return respond(body, content_type)
end


return {
  ["/developers"] = {
    GET = function(self)
      return core.respond(200, false, "list", kong.request.get_raw_query(),
                          self.req.parsed_url.path)
    end,

    POST = function()
      return with_body(function(body, content_type)
        return core.respond(201, false, "create", body, content_type,
                            admin_name())
      end)
    end,
  },

  ["/developers/counts"] = {
    GET = function()
      return core.respond(200, false, "counts")
    end,
  },

  ["/developers/invite"] = {
    POST = function()
      return with_body(function(body, content_type)
        return core.respond(200, false, "invite", body, content_type)
      end)
    end,
  },

  ["/developers/:developers"] = {
    GET = function(self)
      return core.respond(200, false, "get", self.params.developers)
    end,

    PATCH = function(self)
      return with_body(function(body, content_type)
        return core.respond(200, false, "change_status", self.params.developers,
                            body, content_type, admin_name())
      end)
    end,

    DELETE = function(self)
      return core.respond(204, false, "delete", self.params.developers)
    end,
  },

  ["/developers/:developers/history"] = {
    GET = function(self)
      return core.respond(200, false, "history", self.params.developers)
    end,
  },

  ["/developers/:developers/email"] = {
    GET = function(self)
      return core.respond(200, false, "approved_email", self.params.developers)
    end,
  },
}

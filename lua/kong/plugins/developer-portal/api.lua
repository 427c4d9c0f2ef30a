-- Admin API routes for developers. Each handler reads its parameters, calls
-- the core once, and responds; every rule lives in the core.

local cjson = require "cjson.safe"
local core = require "kong.plugins.developer-portal.core"
local consumers = require "kong.plugins.developer-portal.consumers"


local kong = kong


-- Returns the admin who made a change, when the request names one: Kong
-- Manager sends `Kong-Admin-User` with RBAC.
local function admin_name()
  return kong.request.get_header("Kong-Admin-User") or "admin-api"
end


local with_body = core.with_body


return {
  ["/developers"] = {
    GET = function(self)
      return core.respond(200, false, "list", kong.request.get_raw_query(),
                          self.req.parsed_url.path)
    end,

    POST = function()
      return with_body(function(body, content_type)
        local json, err = core.call("create", body, content_type, admin_name())
        if not json then
          return core.fail(err, false, "create")
        end

        local consumer, cerr = consumers.create_or_undo(cjson.decode(json))
        if not consumer then
          return core.db_fail("could not create the developer's consumer", cerr)
        end
        return core.ok(201, json)
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
      local json, err = core.call("get", self.params.developers)
      if not json then
        return core.fail(err, false, "delete")
      end

      -- The consumer goes first: once it is gone, none of its credentials
      -- authenticates, whatever happens to the developer row next.
      local ok, cerr = consumers.delete(cjson.decode(json))
      if not ok then
        return core.db_fail("could not delete the developer's consumer", cerr)
      end
      local deleted, derr = core.call("delete", self.params.developers)
      if not deleted then
        if derr.kind ~= "not_found" and kong.db then
          -- The two deletions cannot share a transaction, so the developer
          -- stays without a consumer until the DELETE is repeated.
          derr.message = derr.message .. "; the developer's consumer is already " ..
                         "deleted: repeat the DELETE to delete the developer"
        end
        return core.fail(derr, false, "delete")
      end
      return core.ok(204, deleted)
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

-- Portal API routes: what a developer calls from the portal. Kong's own
-- Portal API listener (`portal_api_listen`, port 8004) is an Enterprise
-- feature; these routes use the same table format as api.lua so a host can
-- mount them there.

local core = require "kong.plugins.developer-portal.core"


local kong = kong


local function with_body(respond)
  local body, content_type, err = core.body()
  if err then
    return kong.response.exit(400, { message = err })
  end
  return respond(body, content_type)
end


return {
  ["/register"] = {
    POST = function()
      return with_body(function(body, content_type)
        return core.respond(201, true, "register", body, content_type)
      end)
    end,
  },

  ["/login"] = {
    POST = function()
      return with_body(function(body, content_type)
        return core.respond(200, true, "login", body, content_type)
      end)
    end,
  },
}

-- The plugin's phases. The gateway check runs in `access`, after Kong's
-- authentication plugins have identified the consumer.

local core = require "kong.plugins.developer-portal.core"


local DeveloperPortalHandler = {
  VERSION = "0.1.0",
  -- Kong runs higher priorities first. Authentication plugins run between
  -- 1450 (jwt) and 1000 (key-auth is 1250, basic-auth 1100), so 950 runs
  -- after all of them and before rate limiting (910).
  PRIORITY = 950,
}


function DeveloperPortalHandler:access(conf) -- luacheck: ignore
  -- TODO: refuse consumers whose developer is not approved; the core's
  -- status lookup is the next piece of work.
  return core.settings and nil
end


return DeveloperPortalHandler

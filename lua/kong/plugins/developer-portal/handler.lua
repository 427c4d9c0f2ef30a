-- The gateway check: a request whose consumer belongs to a developer passes
-- only while that developer is approved.

local core = require "kong.plugins.developer-portal.core"


local kong = kong
local lookup = core.lib.lookup
local REFUSALS = core.lib.refusals


local NOT_A_DEVELOPER = "Unauthorized: consumer is not a developer"


local DeveloperPortalHandler = {
  VERSION = "0.1.0",
  -- Kong runs higher priorities first. Its authentication plugins run from
  -- 1450 (jwt) down to 1030 (hmac-auth), with key-auth at 1250 and
  -- basic-auth at 1100 (Kong 3.x handlers), so 940 runs once the consumer
  -- is known. It also runs after acl (950), and before rate-limiting (910)
  -- counts a request that is about to be refused.
  PRIORITY = 940,
}


function DeveloperPortalHandler:access(conf)
  local consumer = kong.client.get_consumer()
  if not consumer then
    return
  end

  local by_custom_id = conf.consumer_match == "custom_id"
  local key = by_custom_id and consumer.custom_id or consumer.username
  local code, err
  if key then
    code, err = lookup(key, by_custom_id)
  end

  if err then
    kong.log.err("developer-portal: status lookup failed: ", err.message)
    return kong.response.exit(503, {
      message = "developer status unavailable; try again later",
    })
  end

  if code == nil then
    if conf.allow_unknown_consumers then
      return
    end
    return kong.response.exit(401, { message = NOT_A_DEVELOPER })
  end

  local refusal = REFUSALS[code]
  if refusal then
    return kong.response.exit(401, { message = refusal })
  end
end


return DeveloperPortalHandler

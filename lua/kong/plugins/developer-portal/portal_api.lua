-- Portal API routes: the calls a developer makes from the portal. Kong's
-- own Portal API listener (`portal_api_listen`, port 8004) is an Enterprise
-- feature, so these routes use the same table format as api.lua and a host
-- can mount them on a listener of its own.

local cjson = require "cjson.safe"
local core = require "kong.plugins.developer-portal.core"
local consumers = require "kong.plugins.developer-portal.consumers"


local kong = kong
local tonumber = tonumber


-- Reads the body and hands it to `respond`. A Content-Length over
-- portal_register_max_body is rejected before the body is read. The core
-- also checks the size of the body it receives, for chunked requests.
local function with_body(respond)
  local length = tonumber(kong.request.get_header("Content-Length"))
  if length then
    local ok, err = core.call("check_body_size", length)
    if not ok then
      return core.fail(err, true, "check_body_size")
    end
  end

  return core.with_body(respond)
end


return {
  ["/register"] = {
    POST = function()
      return with_body(function(body, content_type)
        local json, err = core.call("register", body, content_type,
                                    kong.client.get_ip())
        if not json then
          return core.fail(err, true, "register")
        end

        local consumer, cerr = consumers.create_or_undo(cjson.decode(json).developer)
        if not consumer then
          return core.db_fail("could not create the developer's consumer", cerr,
                              true)
        end
        return core.ok(201, json)
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

  -- An approved developer creates a key-auth credential for the gateway,
  -- authenticating with `Authorization: Basic base64(email:password)`.
  ["/credentials/key-auth"] = {
    POST = function()
      return with_body(function(body, content_type)
        local json, err = core.call("new_api_key",
                                    kong.request.get_header("Authorization"),
                                    body, content_type)
        if not json then
          return core.fail(err, true, "new_api_key")
        end

        local issued = cjson.decode(json)
        local consumer, cerr = consumers.find(issued.developer)
        if not consumer then
          consumer, cerr = consumers.create(issued.developer)
        end
        if not consumer or consumer == true then
          return core.db_fail("could not find the developer's consumer",
                              cerr or "the host has no kong.db", true)
        end

        local credential, kerr, kerr_t = kong.db.keyauth_credentials:insert({
          consumer = { id = consumer.id },
          key = issued.key,
        })
        if not credential then
          if kerr_t and kerr_t.code == 5 then
            return kong.response.exit(409, {
              message = "this key is already in use; choose another or omit " ..
                        "key to get a random one",
            })
          end
          return core.db_fail("could not create the credential", kerr, true)
        end
        return kong.response.exit(201, credential)
      end)
    end,
  },
}

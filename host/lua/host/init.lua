-- The host's entry points: it installs the PDK subset, loads the plugin as
-- Kong would in the master process, and serves the Admin API, the Portal API
-- and the proxy path from nginx.conf's `*_by_lua` blocks.

local pdk = require "host.pdk"


local _M = {}


local router, admin, portal, key_auth


-- Fills a plugin config from the schema's defaults, as Kong does when a
-- plugin is configured through the Admin API.
local function plugin_config(schema, given)
  local config = {}
  for _, field in ipairs(schema.fields) do
    if field.config then
      for _, entry in ipairs(field.config.fields) do
        local name, spec = next(entry)
        local value = given[name]
        if value == nil then
          value = spec.default
        end
        config[name] = value
      end
    end
  end
  return config
end


--- Runs in init_by_lua (the master). `prefix` is the host's nginx prefix.
function _M.init(prefix)
  local kong = pdk.install({
    prefix = prefix,
    loaded_plugins = { ["developer-portal"] = true, ["key-auth"] = true },
  })
  kong.db = require("host.db").new(prefix .. "/kong-host.db")

  -- Modules that capture the global `kong` load after it exists.
  router = require "host.router"
  key_auth = require "host.key_auth"

  -- Kong requires each plugin's handler, schema and api in the master.
  _M.handler = require "kong.plugins.developer-portal.handler"
  _M.schema = require "kong.plugins.developer-portal.schema"
  admin = router.new({ require "kong.plugins.developer-portal.api" })
  portal = router.new({ require "kong.plugins.developer-portal.portal_api" })

  -- The proxy routes' plugin configs (see nginx.conf.template).
  _M.configs = {
    default = plugin_config(_M.schema, {}),
    custom_id = plugin_config(_M.schema, { consumer_match = "custom_id" }),
    strict = plugin_config(_M.schema, { allow_unknown_consumers = false }),
  }
end


function _M.serve_admin()
  return router.serve(admin)
end


function _M.serve_portal_api()
  return router.serve(portal)
end


--- Runs the proxy's access phase: key-auth, then the plugin with the named
-- config (nil runs key-auth alone, the baseline for benchmarks).
function _M.proxy_access(config_name)
  key_auth.access()
  if config_name then
    return _M.handler:access(_M.configs[config_name])
  end
end


return _M

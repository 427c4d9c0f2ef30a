-- The host's entry points: it installs the PDK subset, loads the plugin as
-- Kong would in the master process, and serves the Admin API, the Portal API
-- and the proxy path from nginx.conf's `*_by_lua` blocks.

local pdk = require "host.pdk"


local _M = {}


local router, admin, portal


--- Runs in init_by_lua (the master). `prefix` is the host's nginx prefix.
function _M.init(prefix)
  pdk.install({
    prefix = prefix,
    loaded_plugins = { ["developer-portal"] = true },
  })

  -- Modules that capture the global `kong` load after it exists.
  router = require "host.router"

  -- Kong requires each plugin's handler, schema and api in the master.
  _M.handler = require "kong.plugins.developer-portal.handler"
  _M.schema = require "kong.plugins.developer-portal.schema"
  admin = router.new({ require "kong.plugins.developer-portal.api" })
  portal = router.new({ require "kong.plugins.developer-portal.portal_api" })
end


function _M.serve_admin()
  return router.serve(admin)
end


function _M.serve_portal_api()
  return router.serve(portal)
end


function _M.proxy_access()
  return _M.handler:access({})
end


return _M

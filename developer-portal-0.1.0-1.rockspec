package = "developer-portal"
version = "0.1.0-1"

source = {
  url = "git+file:///developer-portal",
}

description = {
  summary = "Kong plugin that manages the developers of an API developer portal",
  detailed = [[
    Developers register and wait for approval (or are approved at once with
    portal_auto_approve = on); admins approve, reject, revoke, re-approve,
    delete, invite and email them through Admin API routes; only approved
    developers' consumers pass the gateway. The rules live in a Rust core
    that LuaJIT loads as the module developer_portal_core.
  ]],
  license = "Apache-2.0",
}

dependencies = {
  "lua >= 5.1",
  "luarocks-build-rust-mlua",
}

build = {
  type = "rust-mlua",
  modules = {
    "developer_portal_core",
  },
  include = {
    ["lua/kong/plugins/developer-portal/handler.lua"] = "kong/plugins/developer-portal/handler.lua",
    ["lua/kong/plugins/developer-portal/schema.lua"] = "kong/plugins/developer-portal/schema.lua",
    ["lua/kong/plugins/developer-portal/api.lua"] = "kong/plugins/developer-portal/api.lua",
    ["lua/kong/plugins/developer-portal/portal_api.lua"] = "kong/plugins/developer-portal/portal_api.lua",
    ["lua/kong/plugins/developer-portal/core.lua"] = "kong/plugins/developer-portal/core.lua",
    ["lua/kong/plugins/developer-portal/consumers.lua"] = "kong/plugins/developer-portal/consumers.lua",
  },
}

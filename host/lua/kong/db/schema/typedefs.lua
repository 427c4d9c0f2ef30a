-- The two typedefs the plugin's schema.lua uses, with Kong 3.x's meaning:
-- the plugin cannot be scoped to a consumer, and it runs on HTTP protocols.

return {
  no_consumer = { type = "foreign", reference = "consumers", eq = ngx.null },
  protocols_http = {
    type = "set",
    required = true,
    default = { "grpc", "grpcs", "http", "https" },
    elements = { type = "string", one_of = { "grpc", "grpcs", "http", "https" } },
  },
}

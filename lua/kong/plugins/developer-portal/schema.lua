local typedefs = require "kong.db.schema.typedefs"


return {
  name = "developer-portal",
  fields = {
    { consumer = typedefs.no_consumer },
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { consumer_match = {
              description = "How an authenticated consumer is matched to a " ..
                            "developer: `username` equal to the developer's " ..
                            "email (any letter case), or `custom_id` equal " ..
                            "to the developer's id.",
              type = "string",
              required = true,
              default = "username",
              one_of = { "username", "custom_id" },
          } },
          { allow_unknown_consumers = {
              description = "Whether consumers that are not developers pass. " ..
                            "Requests without a consumer always pass: " ..
                            "authentication is the auth plugin's job.",
              type = "boolean",
              required = true,
              default = true,
          } },
        },
      },
    },
  },
}

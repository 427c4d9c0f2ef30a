-- Kong's key-auth plugin, reduced to what the host's proxy needs: the key
-- comes from the `apikey` header or query argument (Kong's default
-- `key_names`), and the consumer it belongs to is authenticated. The
-- answers are Kong 3.x's.

local kong = kong


local _M = { PRIORITY = 1250 }


function _M.access()
  local key = kong.request.get_header("apikey")
  if not key then
    local args = kong.request.get_query()
    key = type(args.apikey) == "string" and args.apikey or nil
  end
  if not key or key == "" then
    kong.response.set_header("WWW-Authenticate", 'Key realm="kong"')
    return kong.response.exit(401, { message = "No API key found in request" })
  end

  local credential, err = kong.db.keyauth_credentials:select_by_key(key)
  if err then
    kong.log.err("key-auth: could not read credentials: ", err)
    return kong.response.exit(500, { message = "An unexpected error occurred" })
  end
  if not credential then
    kong.response.set_header("WWW-Authenticate", 'Key realm="kong"')
    return kong.response.exit(401, { message = "Invalid authentication credentials" })
  end

  local consumer, cerr = kong.db.consumers:select({ id = credential.consumer.id })
  if cerr or not consumer then
    kong.log.err("key-auth: credential ", credential.id, " has no consumer: ", cerr)
    return kong.response.exit(500, { message = "An unexpected error occurred" })
  end
  kong.client.authenticate(consumer, credential)
end


return _M

-- Keeps each developer's Kong consumer in step with the developer: created
-- with it, deleted (with its credentials) before it. Does nothing when the
-- host has no `kong.db`.

local core = require "kong.plugins.developer-portal.core"


local kong = kong


local UNIQUE_VIOLATION = 5


local _M = {}


local function find(developer)
  local consumer, err = kong.db.consumers:select_by_custom_id(developer.id)
  if consumer or err then
    return consumer, err
  end
  return kong.db.consumers:select_by_username(developer.email)
end


--- Creates the developer's consumer: `username` is the email, `custom_id`
-- the developer's id. A consumer that already has the username is reused.
function _M.create(developer)
  if not kong.db then
    return true
  end
  local consumer, err, err_t = kong.db.consumers:insert({
    username = developer.email,
    custom_id = developer.id,
  })
  if consumer then
    return consumer
  end
  if err_t and err_t.code == UNIQUE_VIOLATION then
    kong.log.notice("developer-portal: reusing the consumer named ",
                    developer.email, " for developer ", developer.id)
    return find(developer)
  end
  return nil, err
end


--- Creates the developer's consumer, or deletes the developer when that
-- fails: without its consumer the developer could never pass the gateway.
-- Returns the consumer, or nil and the consumer's error.
function _M.create_or_undo(developer)
  local consumer, err = _M.create(developer)
  if consumer then
    return consumer
  end
  local deleted, derr = core.call("delete", developer.id)
  if not deleted then
    kong.log.err("developer-portal: could not undo developer ", developer.id,
                 " after its consumer failed: ", derr.message)
  end
  return nil, err
end


--- Finds the developer's consumer, or nil when it has none.
function _M.find(developer)
  if not kong.db then
    return nil
  end
  return find(developer)
end


--- Deletes the developer's consumer; Kong deletes its credentials with it.
function _M.delete(developer)
  if not kong.db then
    return true
  end
  local consumer, err = find(developer)
  if err then
    return nil, err
  end
  if not consumer then
    return true
  end
  return kong.db.consumers:delete({ id = consumer.id })
end


return _M

-- Direct access to the host's stand-in for Kong's database, for tests that
-- set up consumers and keys the way an admin would through Kong's Admin API.

local driver = require "luasql.sqlite3"
local helpers = require "helpers"


local kong_db = {}


local function connect()
  local env = driver.sqlite3()
  local conn = assert(env:connect(helpers.prefix .. "/kong-host.db"))
  for _, pragma in ipairs({ "PRAGMA busy_timeout = 2000", "PRAGMA foreign_keys = ON" }) do
    local cursor = conn:execute(pragma)
    if type(cursor) == "userdata" then
      cursor:close()
    end
  end
  return conn, env
end


local function quote(value)
  return "'" .. tostring(value):gsub("'", "''") .. "'"
end


local function run(sql)
  local conn, env = connect()
  local result, err = conn:execute(sql)
  local row
  if type(result) == "userdata" then
    row = result:fetch({}, "a")
    result:close()
  end
  conn:close()
  env:close()
  if not result then
    return nil, err
  end
  return row or true
end


function kong_db.find_consumer(username)
  local row = run("SELECT * FROM consumers WHERE username = " .. quote(username))
  if row == true then
    return nil
  end
  return row
end


--- Adds a key-auth credential to the consumer named `username`.
function kong_db.add_key(username, key)
  local consumer = kong_db.find_consumer(username)
  if not consumer then
    return nil, "no consumer named " .. username
  end
  return run(string.format(
    "INSERT INTO keyauth_credentials (id, consumer_id, key, created_at) " ..
    "VALUES (%s, %s, %s, 0)", quote("cred-" .. key), quote(consumer.id), quote(key)))
end


--- Adds a consumer that is not a developer, with one key.
function kong_db.add_consumer_with_key(username, key)
  local ok, err = run(string.format(
    "INSERT INTO consumers (id, username, created_at) VALUES (%s, %s, 0)",
    quote("consumer-" .. username), quote(username)))
  if not ok then
    return nil, err
  end
  return kong_db.add_key(username, key)
end


return kong_db

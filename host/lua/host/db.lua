-- The part of `kong.db` the plugin uses: `consumers` and
-- `keyauth_credentials`, stored in a SQLite file under the host's prefix
-- (Kong keeps them in PostgreSQL). Each method returns what Kong's DAO
-- documents: the entity, or nil, an error string and an error table whose
-- `code` is Kong's (5 for a unique violation).

local driver = require "luasql.sqlite3"


local ngx = ngx
local fmt = string.format
local concat = table.concat


local UNIQUE_VIOLATION = 5
local DATABASE_ERROR = 8


-- The busy timeout comes first: switching to WAL needs a lock, and without
-- the timeout a worker that connects while another one writes fails at once
-- with "database is locked".
local SCHEMA = {
  "PRAGMA busy_timeout = 2000",
  "PRAGMA journal_mode = WAL",
  "PRAGMA foreign_keys = ON",
  [[CREATE TABLE IF NOT EXISTS consumers (
      id         TEXT PRIMARY KEY,
      username   TEXT UNIQUE,
      custom_id  TEXT UNIQUE,
      created_at INTEGER NOT NULL)]],
  [[CREATE TABLE IF NOT EXISTS keyauth_credentials (
      id          TEXT PRIMARY KEY,
      consumer_id TEXT NOT NULL REFERENCES consumers (id) ON DELETE CASCADE,
      key         TEXT NOT NULL UNIQUE,
      created_at  INTEGER NOT NULL)]],
}


local path, env, conn, conn_pid


local function connection()
  local pid = ngx.worker.pid()
  if conn and conn_pid == pid then
    return conn
  end
  env = env or driver.sqlite3()
  local c, err = env:connect(path)
  if not c then
    return nil, err
  end
  for _, sql in ipairs(SCHEMA) do
    local ok, serr = c:execute(sql)
    if not ok then
      return nil, serr
    end
  end
  conn, conn_pid = c, pid
  return conn
end


local function quote(value)
  if value == nil or value == ngx.null then
    return "NULL"
  end
  return "'" .. tostring(value):gsub("'", "''") .. "'"
end


local function random_bytes(n)
  local f = assert(io.open("/dev/urandom", "rb"))
  local bytes = f:read(n)
  f:close()
  return bytes
end


local function uuid()
  local b = { random_bytes(16):byte(1, 16) }
  b[7] = b[7] % 16 + 64    -- version 4
  b[9] = b[9] % 64 + 128   -- RFC 4122 variant
  local hex = {}
  for i = 1, 16 do
    hex[i] = fmt("%02x", b[i])
  end
  local s = concat(hex)
  return fmt("%s-%s-%s-%s-%s", s:sub(1, 8), s:sub(9, 12), s:sub(13, 16),
             s:sub(17, 20), s:sub(21, 32))
end


local function query(sql)
  local c, err = connection()
  if not c then
    return nil, err
  end
  local cursor, qerr = c:execute(sql)
  if not cursor then
    return nil, qerr
  end
  if type(cursor) == "number" then
    return cursor
  end
  local rows = {}
  local row = cursor:fetch({}, "a")
  while row do
    rows[#rows + 1] = row
    row = cursor:fetch({}, "a")
  end
  cursor:close()
  return rows
end


local function db_error(err)
  local message = tostring(err)
  local unique = message:match("UNIQUE constraint failed: [%w_]+%.([%w_]+)")
  if unique then
    return nil, fmt("UNIQUE violation detected on '{%s}'", unique),
           { code = UNIQUE_VIOLATION, name = "unique constraint violation",
             message = message }
  end
  return nil, message, { code = DATABASE_ERROR, name = "database error",
                         message = message }
end


local function dao(name, columns, to_entity, to_row)
  local self = {}

  local function select_where(column, value)
    local rows, err = query(fmt("SELECT * FROM %s WHERE %s = %s", name, column,
                                quote(value)))
    if not rows then
      return db_error(err)
    end
    return rows[1] and to_entity(rows[1]) or nil
  end

  function self:select(pk)
    return select_where("id", pk.id)
  end

  function self:insert(entity)
    local row = to_row(entity)
    row.id = row.id or uuid()
    row.created_at = ngx.time()
    local values = {}
    for i, column in ipairs(columns) do
      values[i] = quote(row[column])
    end
    local ok, err = query(fmt("INSERT INTO %s (%s) VALUES (%s)", name,
                              concat(columns, ", "), concat(values, ", ")))
    if not ok then
      return db_error(err)
    end
    return self:select({ id = row.id })
  end

  function self:delete(pk)
    local ok, err = query(fmt("DELETE FROM %s WHERE id = %s", name, quote(pk.id)))
    if not ok then
      return db_error(err)
    end
    return true
  end

  self.select_where = select_where
  return self
end


local function consumer_entity(row)
  return { id = row.id, username = row.username, custom_id = row.custom_id,
           created_at = tonumber(row.created_at) }
end


local function consumer_row(e)
  return { id = e.id, username = e.username, custom_id = e.custom_id }
end


local function credential_entity(row)
  return { id = row.id, consumer = { id = row.consumer_id }, key = row.key,
           created_at = tonumber(row.created_at) }
end


local function credential_row(e)
  -- Kong's key-auth generates a key when none is given.
  return { id = e.id, consumer_id = e.consumer and e.consumer.id,
           key = e.key or (uuid():gsub("-", "")) }
end


local _M = {}


--- Returns a `kong.db` with the two DAOs, stored in the file at `file`.
function _M.new(file)
  path = file
  local consumers = dao("consumers",
                        { "id", "username", "custom_id", "created_at" },
                        consumer_entity, consumer_row)
  function consumers:select_by_username(username)
    return consumers.select_where("username", username)
  end
  function consumers:select_by_custom_id(custom_id)
    return consumers.select_where("custom_id", custom_id)
  end

  local credentials = dao("keyauth_credentials",
                          { "id", "consumer_id", "key", "created_at" },
                          credential_entity, credential_row)
  function credentials:select_by_key(key)
    return credentials.select_where("key", key)
  end

  return { consumers = consumers, keyauth_credentials = credentials }
end


return _M

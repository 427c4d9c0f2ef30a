-- Passwords and keys never leave the request that carries them: they appear
-- in no response body, no error-log line at debug level, and no row of the
-- developer store except as an Argon2 hash in `credentials`.
--
-- The one exception is the 201 response of `POST /credentials/key-auth`,
-- which hands the developer the key they will send to the gateway, as
-- Kong's key-auth Admin API returns a new credential with its key.

local helpers = require "helpers"


-- Distinct per run, so no earlier run's file or log can match.
local RUN = tostring(os.time()) .. tostring(math.random(100000, 999999))
local PASSWORD = "Pw-" .. RUN .. "-horse"
local KEY = "Key-" .. RUN .. "-gateway"
local EMAIL = "secret-keeper@example.com"
local JSON = { ["Content-Type"] = "application/json" }


local function base64(text)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local out = {}
  for i = 1, #text, 3 do
    local a, b, c = text:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    for j = 3, 0, -1 do
      local index = math.floor(n / 64 ^ j) % 64
      out[#out + 1] = alphabet:sub(index + 1, index + 1)
    end
    if not c then
      out[#out] = "="
    end
    if not b then
      out[#out - 1] = "="
    end
  end
  return table.concat(out)
end


local function basic(email, secret)
  return { Authorization = "Basic " .. base64(email .. ":" .. secret) }
end


local function shell_output(command)
  local pipe = assert(io.popen(command))
  local text = pipe:read("*a")
  pipe:close()
  return text
end


local function store_file()
  return helpers.prefix .. "/developer_portal.db"
end


-- Returns every row of `table` in the developer store as text.
local function dump_table(table_name)
  return shell_output(string.format("sqlite3 -readonly '%s' 'SELECT * FROM %s' 2>&1",
                                    store_file(), table_name))
end


describe("developer-portal secrets", function()
  -- Every response body except the one that issues the key, with the
  -- request that produced it.
  local bodies = {}

  local function record(label, status, text)
    bodies[#bodies + 1] = { label = label .. " (" .. tostring(status) .. ")", text = text }
    return status, text
  end

  local function portal(label, method, path, body, headers)
    local status, text, json = helpers.portal(method, path, body, headers)
    record("Portal API " .. label, status, text)
    return status, text, json
  end

  local function admin(label, method, path, body, headers)
    local status, text, json = helpers.admin(method, path, body, headers)
    record("Admin API " .. label, status, text)
    return status, text, json
  end

  local developer
  local issued_text

  setup(function()
    assert(helpers.start_host({
      conf = "portal_auth = basic-auth\nportal_register_rate_limit = 0\n",
      env = "HOST_LOG_LEVEL=debug",
    }))
  end)

  teardown(function()
    helpers.stop_host()
  end)

  it("registers with a password", function()
    local status, text, json = portal("register", "POST", "/register", {
      email = EMAIL, password = PASSWORD, meta = { full_name = "Secret Keeper" },
    })
    assert.same(201, status, text)
    developer = json.developer
  end)

  it("refuses login before approval", function()
    local status = portal("login before approval", "POST", "/login",
                          { email = EMAIL, password = PASSWORD })
    assert.same(401, status)
  end)

  it("approves the developer", function()
    local status = admin("approve", "PATCH", "/developers/" .. developer.id, { status = 0 })
    assert.same(200, status)
  end)

  it("logs in and fails to log in", function()
    local status = portal("login", "POST", "/login", { email = EMAIL, password = PASSWORD })
    assert.same(200, status)
    status = portal("login with a wrong password", "POST", "/login",
                    { email = EMAIL, password = PASSWORD .. "x" })
    assert.same(401, status)
    status = portal("login with the password as key", "POST", "/login",
                    { email = EMAIL, key = PASSWORD })
    assert.same(400, status)
    status = portal("login with the password as an array", "POST", "/login",
                    { email = EMAIL, password = { PASSWORD } })
    assert.same(400, status)
  end)

  it("issues the key in the one 201 answer", function()
    local status, text, json = helpers.portal("POST", "/credentials/key-auth",
                                              '{"key":"' .. KEY .. '"}',
                                              { ["Content-Type"] = "application/json",
                                                Authorization = basic(EMAIL, PASSWORD).Authorization })
    assert.same(201, status, text)
    assert.same(KEY, json.key)
    assert.is_nil(text:find(PASSWORD, 1, true))
    issued_text = text
  end)

  it("never shows the key or password on key-auth errors", function()
    local status = portal("key-auth with the same key", "POST", "/credentials/key-auth",
                          { key = KEY }, basic(EMAIL, PASSWORD))
    assert.same(409, status)
    status = portal("key-auth with a wrong password", "POST", "/credentials/key-auth",
                    { key = KEY .. "2" }, basic(EMAIL, PASSWORD .. "x"))
    assert.same(401, status)
    status = portal("key-auth with the key as an object", "POST", "/credentials/key-auth",
                    { key = { value = KEY } }, basic(EMAIL, PASSWORD))
    assert.same(400, status)
    status = portal("key-auth with a key containing a space", "POST", "/credentials/key-auth",
                    { key = KEY .. " x" }, basic(EMAIL, PASSWORD))
    assert.same(400, status)
  end)

  it("passes the gateway with the key", function()
    local status = helpers.proxy("GET", "/", nil, { apikey = KEY })
    assert.same(200, status)
  end)

  it("never shows a secret sent in the wrong field", function()
    local cases = {
      { "register with the password as key", "/register",
        { email = "other@example.com", key = PASSWORD, meta = { full_name = "Other" } } },
      { "register with the password as an array", "/register",
        { email = "other@example.com", password = { PASSWORD }, meta = { full_name = "O" } } },
      { "register with the password as an object", "/register",
        { email = "other@example.com", password = { p = PASSWORD }, meta = { full_name = "O" } } },
      { "register with a short password and the key", "/register",
        { email = "other@example.com", password = "short", key = KEY,
          meta = { full_name = "O" } } },
      { "register with the password under an unknown name", "/register",
        { email = "other@example.com", passwd = PASSWORD, meta = { full_name = "O" } } },
      { "register with the password and a NUL", "/register",
        { email = "other@example.com", password = PASSWORD .. "\0",
          meta = { full_name = "O" } } },
      { "register an existing email with its password", "/register",
        { email = EMAIL, password = PASSWORD, meta = { full_name = "Again" } } },
    }
    for _, case in ipairs(cases) do
      local status = portal(case[1], "POST", case[2], case[3])
      assert.is_true(status >= 400 and status < 500, case[1] .. ": " .. tostring(status))
    end
    local status = admin("PATCH with the password as a field", "PATCH",
                         "/developers/" .. developer.id, { status = 0, password = PASSWORD })
    assert.same(400, status)
    status = admin("create with the password as an array", "POST", "/developers",
                   { email = "made@example.com", password = { PASSWORD },
                     meta = { full_name = "Made" } })
    assert.same(400, status)
    status = admin("invite with the password as a field", "POST", "/developers/invite",
                   { emails = "new@example.com", password = PASSWORD })
    assert.same(400, status)
  end)

  it("never shows a secret in Admin API answers", function()
    local paths = {
      "/developers", "/developers?q=secret", "/developers/counts",
      "/developers/" .. developer.id, "/developers/" .. EMAIL,
      "/developers/" .. developer.id .. "/history", "/developers/" .. developer.id .. "/email",
    }
    for _, path in ipairs(paths) do
      local status = admin("GET " .. path, "GET", path)
      assert.same(200, status, path)
    end
    local status = admin("invite", "POST", "/developers/invite",
                         { emails = { EMAIL, "invitee@example.com" } })
    assert.same(200, status)
    status = admin("revoke", "PATCH", "/developers/" .. developer.id, { status = "revoked" })
    assert.same(200, status)
    status = admin("re-approve", "PATCH", "/developers/" .. developer.id, { status = "approved" })
    assert.same(200, status)
  end)

  it("has no secret in any response body but the issued key", function()
    assert.is_true(#bodies >= 30, #bodies .. " bodies")
    for _, body in ipairs(bodies) do
      assert.is_nil(body.text:find(PASSWORD, 1, true), "password in " .. body.label)
      assert.is_nil(body.text:find(KEY, 1, true), "key in " .. body.label)
    end
    assert.truthy(issued_text:find(KEY, 1, true))
  end)

  -- Debian's nginx is built with --with-debug, and at debug level nginx
  -- itself writes every request header, and every header it forwards to
  -- the upstream, to the error log, `apikey` and `Authorization` included. The plugin cannot change that, so those lines
  -- are the only ones allowed to hold a secret.
  it("has no secret in any other error-log line", function()
    local secrets = { PASSWORD, KEY, basic(EMAIL, PASSWORD).Authorization:sub(7) }
    local log = helpers.error_log()
    assert.truthy(log:find("[debug]", 1, true), "the host did not log at debug level")
    assert.truthy(log:find("[lua]", 1, true), "the plugin wrote nothing to the error log")
    -- An entry starts with a timestamp; nginx writes the request it sends
    -- upstream as one entry over several lines.
    local entries = {}
    for line in log:gmatch("[^\n]+") do
      if line:find("^%d%d%d%d/%d%d/%d%d ") or #entries == 0 then
        entries[#entries + 1] = line
      else
        entries[#entries] = entries[#entries] .. "\n" .. line
      end
    end
    local header_lines = 0
    for _, entry in ipairs(entries) do
      for _, secret in ipairs(secrets) do
        if entry:find(secret, 1, true) then
          local is_header_entry = entry:find("^[%d/: ]+%[debug%] %d+#%d+: %*%d+ http header: \"")
                                  or entry:find("^[%d/: ]+%[debug%] %d+#%d+: %*%d+ http proxy header:")
          assert.truthy(is_header_entry, entry)
          assert.is_nil(entry:find("[lua]", 1, true), entry)
          header_lines = header_lines + 1
        end
      end
    end
    assert.is_true(header_lines > 0, "nginx logged no request header at debug level")
  end)

  it("has no secret in the access log", function()
    local access = helpers.read_file(helpers.prefix .. "/logs/access.log") or ""
    assert.is_nil(access:find(PASSWORD, 1, true))
    assert.is_nil(access:find(KEY, 1, true))
  end)

  it("stores only an Argon2 hash of the password", function()
    for _, table_name in ipairs({ "developers", "status_history", "deleted_developers",
                                  "registration_attempts" }) do
      local rows = dump_table(table_name)
      assert.is_nil(rows:find("Error", 1, true), rows)
      assert.is_nil(rows:find(PASSWORD, 1, true), "password in " .. table_name)
      assert.is_nil(rows:find(KEY, 1, true), "key in " .. table_name)
    end
    local hashes = dump_table("credentials")
    assert.matches("|basic-auth|$argon2id$v=19$", hashes, 1, true)
    assert.is_nil(hashes:find(PASSWORD, 1, true))
  end)

  it("has no secret anywhere in the store files", function()
    for _, suffix in ipairs({ "", "-wal" }) do
      local bytes = helpers.read_file(store_file() .. suffix) or ""
      assert.is_nil(bytes:find(PASSWORD, 1, true), "password in " .. store_file() .. suffix)
      assert.is_nil(bytes:find(KEY, 1, true), "key in " .. store_file() .. suffix)
    end
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)


describe("developer-portal listeners", function()
  setup(function()
    assert(helpers.start_host())
  end)

  teardown(function()
    helpers.stop_host()
  end)

  it("listen on 127.0.0.1 only in the rendered nginx.conf", function()
    local conf = assert(helpers.read_file(helpers.prefix .. "/nginx.conf"))
    local count = 0
    for address in conf:gmatch("\n%s*listen%s+([^;]+);") do
      count = count + 1
      assert.matches("^127%.0%.0%.1:%d+$", address)
    end
    assert.is_true(count >= 2, count .. " listen lines")
    assert.matches("listen 127.0.0.1:" .. helpers.ports.admin .. ";", conf, 1, true)
    assert.matches("listen 127.0.0.1:" .. helpers.ports.portal_api .. ";", conf, 1, true)
  end)

  it("refuse connections on the non-loopback addresses", function()
    local socket = require "socket"
    local addresses = {}
    for address in shell_output("hostname -I 2>/dev/null"):gmatch("%S+") do
      if address:find("^%d+%.%d+%.%d+%.%d+$") and not address:find("^127%.") then
        addresses[#addresses + 1] = address
      end
    end
    if #addresses == 0 then
      pending("this machine has no non-loopback IPv4 address")
      return
    end
    assert.is_true(helpers.is_listening(helpers.ports.admin))
    for _, address in ipairs(addresses) do
      for _, port in ipairs({ helpers.ports.admin, helpers.ports.portal_api }) do
        local tcp = socket.tcp()
        tcp:settimeout(1)
        local ok = tcp:connect(address, port)
        tcp:close()
        assert.is_nil(ok, address .. ":" .. port .. " accepted a connection")
      end
    end
  end)
end)

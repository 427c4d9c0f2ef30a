-- One table of bad input for the Admin API, the Portal API and kong.conf.
-- Every request case gets a 4xx whose message names the value, or, where
-- the input is harmless text, a 2xx that stores or matches it as text. No
-- case gets a 5xx. Every kong.conf case stops start-up with a message that
-- names the property, the value and the file and line.
--
-- The request cases share one host; the kong.conf cases come last, because
-- each of them is one failed start.

local helpers = require "helpers"
local cjson = require "cjson.safe"


local JSON = { ["Content-Type"] = "application/json" }
local FORM = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local PASSWORD = "correct horse battery"

local ACCEPTED_STATUSES = "(accepted: 0 or approved, 1 or requested (alias pending), "
                          .. "2 or rejected, 3 or revoked)"
local ACCEPTED_SIZE = "(accepted: an integer from 1 to 1000)"
local ACCEPTED_OFFSET = "(accepted: the offset value returned with the previous page)"


-- Encodes a registration with `fields` replacing the defaults; a field set
-- to cjson.null is left out.
local function registration(fields)
  local body = {
    email = "someone@example.com",
    password = PASSWORD,
    meta = { full_name = "Some One" },
  }
  for name, value in pairs(fields or {}) do
    if value == cjson.null then
      body[name] = nil
    else
      body[name] = value
    end
  end
  return cjson.encode(body)
end


local function base64(text)
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  return ((text:gsub(".", function(c)
    local bits, byte = "", c:byte()
    for i = 8, 1, -1 do
      bits = bits .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and "1" or "0")
    end
    return bits
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(bits)
    if #bits < 6 then
      return ""
    end
    local n = 0
    for i = 1, 6 do
      n = n + (bits:sub(i, i) == "1" and 2 ^ (6 - i) or 0)
    end
    return alphabet:sub(n + 1, n + 1)
  end) .. ({ "", "==", "=" })[#text % 3 + 1])
end


local function url_encode(text)
  return (text:gsub("[^%w%-%._~@]", function(c)
    return string.format("%%%02X", c:byte())
  end))
end


-- Returns the Bcc addresses of a mailto link, still percent-encoded.
local function bcc_part(link)
  return link:match("^mailto:%?bcc=([^&]*)")
end


local CASES = {}

local function add(case)
  case.api = case.api or "admin"
  case.headers = case.headers or JSON
  CASES[#CASES + 1] = case
end


-- Portal API: POST /register ---------------------------------------------

local function register_case(name, body, status, expected, headers)
  add({
    name = "register " .. name, api = "portal", method = "POST", path = "/register",
    body = body, headers = headers, status = status, contains = expected,
  })
end

register_case("with truncated JSON", '{"email": ', 400,
              { "malformed JSON in the request body: EOF while parsing a value" })
register_case("with an unclosed object", '{"email":"a@example.com"', 400,
              { "malformed JSON in the request body: EOF while parsing an object" })
register_case("with a JSON array", "[1,2]", 400,
              { "the request body must be a JSON object, got array" })
register_case("with a JSON string", '"a@example.com"', 400,
              { "the request body must be a JSON object, got string" })
register_case("with JSON null", "null", 400,
              { "the request body must be a JSON object, got null" })
register_case("with a JSON number", "5", 400,
              { "the request body must be a JSON object, got number" })
register_case("with invalid UTF-8", "\255\254", 400,
              { "malformed JSON in the request body: expected value at line 1 column 1" })
register_case("with a lone surrogate escape", '{"email":"\\ud800@example.com"}', 400,
              { "malformed JSON in the request body: unexpected end of hex escape" })
register_case("with 200 nested arrays", '{"meta":' .. string.rep("[", 200)
              .. string.rep("]", 200) .. "}", 400,
              { "malformed JSON in the request body: recursion limit exceeded" })
register_case("with trailing data", registration() .. "{}", 400,
              { "malformed JSON in the request body: trailing characters" })
register_case("with a duplicate key", '{"email":"a@example.com","email":"b@example.com"}', 400,
              { "key 'email' is given twice" })
register_case("with a duplicate nested key", '{"meta":{"full_name":"x","full_name":"y"}}', 400,
              { "key 'full_name' is given twice" })
register_case("with a duplicate form field", "email=a%40example.com&email=b%40example.com",
              400, { "field 'email' is given twice in the request body" }, FORM)
register_case("with a body over portal_register_max_body",
              registration({ meta = { full_name = "Big", bio = string.rep("x", 999) } })
              .. string.rep(" ", 20000), 413,
              { "request body too large: ", " bytes (at most 16384 bytes, set by "
                .. "portal_register_max_body)" })
register_case("with email as a number", registration({ email = 5 }), 400,
              { "invalid email '5' in email: missing '@' symbol" })
register_case("with email as an array", registration({ email = { "a@example.com" } }), 400,
              { 'email must be a string, got array ["a@example.com"]' })
register_case("with email as an object", registration({ email = { a = 1 } }), 400,
              { 'email must be a string, got object {"a":1}' })
register_case("with email as a boolean", registration({ email = true }), 400,
              { "invalid email 'true' in email: missing '@' symbol" })
register_case("with a null email", registration({ email = cjson.null }), 400,
              { "email is required" })
register_case("with an empty email", registration({ email = "" }), 400,
              { "email is required" })
register_case("with an email without '@'", registration({ email = "ada.example.com" }), 400,
              { "invalid email 'ada.example.com' in email: missing '@' symbol" })
register_case("with a 65-character local part",
              registration({ email = string.rep("a", 65) .. "@example.com" }), 400,
              { "invalid email '" .. string.rep("a", 65) .. "@example.com' in email: "
                .. "local-part over 64 characters" })
register_case("with a 64-character domain label",
              registration({ email = "a@" .. string.rep("b", 64) .. ".com" }), 400,
              { "domain label '" .. string.rep("b", 64) .. "' over 63 characters" })
register_case("with a 300-character address",
              registration({ email = string.rep("a", 60) .. "@" .. string.rep("b.", 120)
                                     .. "com" }), 400,
              { "invalid email '" .. string.rep("a", 60) .. "@b.b.b" })
register_case("with an internationalised address", registration({ email = "用户@例子.广告" }),
              400, { "invalid email '用户@例子.广告' in email: non-ASCII characters are "
                     .. "not supported" })
register_case("with a non-ASCII local part", registration({ email = "josé@example.com" }),
              400, { "invalid email 'josé@example.com' in email: non-ASCII" })
register_case("with a quoted local part", registration({ email = '"q"@example.com' }), 400,
              { "quoted local parts are not supported" })
register_case("with an IP address literal", registration({ email = "a@[127.0.0.1]" }), 400,
              { "invalid email 'a@[127.0.0.1]' in email: invalid format: IP address "
                .. "literals are not supported" })
register_case("with CR LF in the email",
              registration({ email = "a@example.com\r\nBcc: x@evil.example" }), 400,
              { "invalid email 'a@example.com\\r\\nBcc: x@evil.example' in email: contains "
                .. "whitespace or control characters" })
register_case("with a NUL in the email", registration({ email = "a\0b@example.com" }), 400,
              { "invalid email 'a\\0b@example.com' in email: contains whitespace" })
register_case("with ' OR 1=1 -- in the email",
              registration({ email = "' OR 1=1 --@example.com" }), 400,
              { "invalid email '\\' OR 1=1 --@example.com' in email: contains whitespace" })
register_case("with a DROP TABLE email",
              registration({ email = '"; DROP TABLE developers; --' }), 400,
              { "invalid email '\\\"; DROP TABLE developers; --' in email" })
register_case("with CR LF in full_name",
              registration({ meta = { full_name = "Ada\r\nBcc: x@evil.example" } }), 400,
              { "meta.full_name 'Ada\\r\\nBcc: x@evil.example' contains control characters "
                .. "such as line breaks" })
register_case("with a tab in full_name", registration({ meta = { full_name = "Ada\tL" } }),
              400, { "meta.full_name 'Ada\\tL' contains control characters" })
register_case("with a 201-character full_name",
              registration({ meta = { full_name = string.rep("n", 201) } }), 400,
              { "meta.full_name is too long: 201 characters (at most 200)" })
register_case("with full_name as a number", registration({ meta = { full_name = 7 } }), 400,
              { "meta.full_name must be a string" })
register_case("with a blank full_name", registration({ meta = { full_name = " " } }), 400,
              { "meta.full_name is required and must not be blank" })
register_case("with meta as invalid JSON text", registration({ meta = "{not json" }), 400,
              { "meta is not a valid JSON object: " })
register_case("with meta as an array", registration({ meta = { 1, 2 } }), 400,
              { "meta must be a JSON object, got array [1,2]" })
register_case("with a nested meta value",
              registration({ meta = { full_name = "x", deep = { a = 1 } } }), 400,
              { "meta.deep must be a string, number or boolean" })
register_case("with a 1001-character meta value",
              registration({ meta = { full_name = "x", bio = string.rep("b", 1001) } }), 400,
              { "meta.bio is too long: 1001 characters (at most 1000)" })
register_case("with a short password", registration({ password = "short" }), 400,
              { "password must be 8 to 256 characters long, got 5" })
register_case("with a 257-character password",
              registration({ password = string.rep("p", 257) }), 400,
              { "password must be 8 to 256 characters long, got 257" })
register_case("with a password array", registration({ password = { PASSWORD } }), 400,
              { "password must be a string, got array" })
register_case("with a NUL in the password", registration({ password = "correct\0horse" }),
              400, { "password contains whitespace or control characters" })
register_case("with a key under basic-auth", registration({ key = "some-key-value" }), 400,
              { "key is not used when portal_auth = basic-auth; send password" })
register_case("with an unknown field", registration({ emial = "a@example.com" }), 400,
              { "unknown field 'emial' in the request body "
                .. "(accepted: email, password, key, meta)" })
register_case("with an XML content type", "<developer/>", 400,
              { "unsupported content type 'text/xml'" }, { ["Content-Type"] = "text/xml" })
register_case("with %0A in a form email",
              "email=a%0A%40example.com&password=correct+horse+battery"
              .. "&meta=%7B%22full_name%22%3A%22x%22%7D", 400,
              { "invalid email 'a\\n@example.com' in email: contains whitespace" }, FORM)
register_case("with an email taken in another case",
              registration({ email = "TAKEN@example.com" }), 409,
              { "a developer with email 'TAKEN@example.com' already exists" })

-- Values that are valid text: they are stored as given and harm nothing.
add({
  name = "register with SQL quotes in a valid email", api = "portal",
  method = "POST", path = "/register",
  body = registration({ email = "o'neil--1@example.com" }), status = 201,
  check = function(json)
    assert.same("o'neil--1@example.com", json.developer.email)
  end,
})
add({
  name = "register with DROP TABLE in full_name", api = "portal",
  method = "POST", path = "/register",
  body = registration({ email = "robert@example.com",
                        meta = { full_name = "Robert'); DROP TABLE developers; --" } }),
  status = 201,
  check = function(json)
    assert.same("Robert'); DROP TABLE developers; --", json.developer.full_name)
  end,
})
add({
  name = "register with a literal %0D%0A in full_name", api = "portal",
  method = "POST", path = "/register",
  body = registration({ email = "percent@example.com",
                        meta = { full_name = "Ada%0D%0ABcc: x@evil.example" } }),
  status = 201,
  check = function(json)
    assert.same("Ada%0D%0ABcc: x@evil.example", json.developer.full_name)
  end,
})


-- Portal API: POST /login and POST /credentials/key-auth -------------------

local function portal_case(name, path, body, status, expected, headers)
  add({
    name = name, api = "portal", method = "POST", path = path,
    body = body, headers = headers, status = status, contains = expected,
  })
end

portal_case("login with truncated JSON", "/login", '{"email":', 400,
            { "malformed JSON in the request body" })
portal_case("login without a password", "/login", '{"email":"taken@example.com"}', 400,
            { "password is required" })
portal_case("login with a wrong password", "/login",
            '{"email":"taken@example.com","password":"wrong password"}', 401,
            { "invalid email or credentials" })
portal_case("login with ' OR 1=1 -- as email", "/login",
            '{"email":"\' OR 1=1 --","password":"\' OR 1=1 --"}', 401,
            { "invalid email or credentials" })
portal_case("login with an unknown field", "/login",
            '{"email":"taken@example.com","password":"x","admin":true}', 400,
            { "unknown field 'admin' in the request body (accepted: email, password, key)" })
portal_case("login with a body over the limit", "/login",
            '{"email":"a@example.com"}' .. string.rep(" ", 17000), 413,
            { "request body too large: 17025 bytes (at most 16384 bytes" })
portal_case("key-auth without Authorization", "/credentials/key-auth", "", 401,
            { "send your portal email and password (or portal key) as "
              .. "'Authorization: Basic base64(email:password)'" })
portal_case("key-auth with invalid base64", "/credentials/key-auth", "", 401,
            { "send your portal email and password" }, { Authorization = "Basic !!!" })
portal_case("key-auth with a Bearer token", "/credentials/key-auth", "", 401,
            { "send your portal email and password" }, { Authorization = "Bearer abc" })
portal_case("key-auth with ' OR 1=1 -- credentials", "/credentials/key-auth", "", 401,
            { "invalid email or credentials" },
            { Authorization = "Basic " .. base64("' OR 1=1 --:' OR 1=1 --") })
portal_case("key-auth with a body over the limit", "/credentials/key-auth",
            "{}" .. string.rep(" ", 16383), 413,
            { "request body too large: 16385 bytes (at most 16384 bytes" },
            { ["Content-Type"] = "application/json", Authorization = "Basic eDp5" })


-- Admin API: GET /developers -------------------------------------------------

-- `value` is the decoded text; the query carries it percent-encoded.
local function list_case(name, value, status, expected)
  add({
    name = "list with " .. name .. "=" .. value, method = "GET",
    path = "/developers?" .. name .. "=" .. url_encode(value),
    status = status, contains = expected,
  })
end

for _, value in ipairs({ "4", "invited", "-1", "' OR 1=1 --", "1e9" }) do
  list_case("status", value, 400,
            { "invalid status '" .. value:gsub("'", "\\'") .. "' " .. ACCEPTED_STATUSES })
end
for _, value in ipairs({ "0", "1001", "abc", "-1", "1e9", "99999999999999999999", "1.5",
                         "0x10", "", " 10", "' OR 1=1 --" }) do
  list_case("size", value, 400,
            { "invalid size '" .. value:gsub("'", "\\'") .. "' " .. ACCEPTED_SIZE })
end
for _, value in ipairs({ "abc", "0", "-5", "1e9", "99999999999999999999", "1; DROP TABLE x" }) do
  list_case("offset", value, 400,
            { "invalid offset '" .. value .. "' " .. ACCEPTED_OFFSET })
end
list_case("q", string.rep("q", 300), 400, { "q is too long: 300 characters (at most 254)" })
add({
  name = "list with a duplicate parameter", method = "GET", path = "/developers?size=1&size=2",
  status = 400, contains = { "field 'size' is given twice in the request query" },
})
add({
  name = "list with an unknown parameter", method = "GET", path = "/developers?sort=email",
  status = 400, contains = { "unknown field 'sort' in the request query "
                             .. "(accepted: status, q, size, offset)" },
})
for _, value in ipairs({ "' OR 1=1 --", '"; DROP TABLE developers; --', "%' OR '%'='" }) do
  add({
    name = "list with q=" .. value, method = "GET", path = "/developers?q=" .. url_encode(value),
    status = 200,
    check = function(json)
      assert.same(0, json.total)
      assert.same({}, json.data)
    end,
  })
end


-- Admin API: /developers/{id or email} --------------------------------------

local function id_case(name, method, segment, shown, suffix)
  add({
    name = method .. " " .. name, method = method,
    path = "/developers/" .. segment .. (suffix or ""),
    body = method == "PATCH" and '{"status":0}' or nil,
    status = 404, contains = { "no developer with id or email '" .. shown .. "'" },
  })
end

id_case("an id with ' OR 1=1 --", "GET", url_encode("' OR 1=1 --"), "\\' OR 1=1 --")
id_case("an id with DROP TABLE", "GET", url_encode('"; DROP TABLE developers; --'),
        '\\"; DROP TABLE developers; --')
id_case("an id with ' OR 1=1 --", "PATCH", url_encode("' OR 1=1 --"), "\\' OR 1=1 --")
id_case("an id with ' OR 1=1 --", "DELETE", url_encode("' OR 1=1 --"), "\\' OR 1=1 --")
id_case("the history of 1 OR 1=1", "GET", "1%20OR%201%3D1", "1 OR 1=1", "/history")
id_case("the email of 1 OR 1=1", "GET", "1%20OR%201%3D1", "1 OR 1=1", "/email")
id_case("a..%2F..%2Fb", "GET", "a..%2F..%2Fb", "a../../b")
id_case("%2E%2E", "GET", "%2E%2E", "..")
id_case("%0D%0A", "GET", "%0D%0A", "\\r\\n")
id_case("an email with %0A", "GET", "taken%40example.com%0A", "taken@example.com\\n")
id_case("a unicode email", "GET", url_encode("☃@example.com"), "☃@example.com")
id_case("invalid UTF-8", "GET", "%C0%AE%FF", "\239\191\189\239\191\189\239\191\189")
id_case("invalid UTF-8", "DELETE", "%FF", "\239\191\189")
id_case("a 5000-character id", "GET", string.rep("i", 5000), string.rep("i", 300) .. "...")
id_case("a UUID of zeros", "GET", "00000000-0000-0000-0000-000000000000",
        "00000000-0000-0000-0000-000000000000")

-- nginx rejects these paths itself, before the plugin runs: an encoded
-- `../` that climbs above the root, and an encoded NUL. The host's error
-- page returns a generic JSON message, which cannot name the value.
for _, segment in ipairs({ "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2f", "%00", "a%00b" }) do
  add({
    name = "GET " .. segment .. " rejected by nginx", method = "GET",
    path = "/developers/" .. segment, status = 400, nginx = true,
  })
end

local function patch_case(name, body, status, expected, headers)
  add({
    name = "PATCH " .. name, method = "PATCH", path = "/developers/taken@example.com",
    body = body, headers = headers, status = status, contains = expected,
  })
end

for _, value in ipairs({ '"4"', '"invited"', "-1", '"\' OR 1=1 --"', "0.5", "true",
                         "99999999999999999999" }) do
  local shown = cjson.decode(value)
  shown = type(shown) == "number" and (shown == 1e20 and "1e+20" or tostring(shown))
          or tostring(shown)
  patch_case("status " .. value, '{"status":' .. value .. "}", 400,
             { "invalid status '" .. shown:gsub("'", "\\'") .. "' " .. ACCEPTED_STATUSES })
end
patch_case("status 1e400", '{"status":1e400}', 400,
           { "malformed JSON in the request body: number out of range" })
patch_case("status null", '{"status":null}', 400, { "status is required" })
patch_case("status as an array", '{"status":[0]}', 400, { "status must be a string, got array [0]" })
patch_case("status as an object", '{"status":{"$ne":0}}', 400,
           { 'status must be a string, got object {"$ne":0}' })
patch_case("a duplicate status key", '{"status":0,"status":2}', 400,
           { "key 'status' is given twice" })
patch_case("an unknown field", '{"status":0,"email":"x@example.com"}', 400,
           { "unknown field 'email' in the request body (accepted: status)" })
patch_case("a forbidden transition", '{"status":"revoked"}', 409,
           { "'Taken@Example.com'", "requested" })
patch_case("a form status with %0A", "status=0%0Ab", 400,
           { "invalid status '0\\nb' " .. ACCEPTED_STATUSES }, FORM)
patch_case("a plain-text body", "status=0", 400, { "unsupported content type 'text/plain'" },
           { ["Content-Type"] = "text/plain" })
patch_case("a Content-Type with invalid UTF-8", '{"status":0}', 400,
           { "unsupported content type 'text/\239\191\189'" },
           { ["Content-Type"] = "text/\255" })


-- Admin API: POST /developers --------------------------------------------------

local function create_case(name, body, status, expected)
  add({
    name = "create " .. name, method = "POST", path = "/developers",
    body = body, status = status, contains = expected,
  })
end

create_case("with an unknown status", registration({ status = "invited" }), 400,
            { "invalid status 'invited' " .. ACCEPTED_STATUSES })
create_case("with status 4", registration({ status = 4 }), 400,
            { "invalid status '4' " .. ACCEPTED_STATUSES })
create_case("with CR LF in the email",
            registration({ email = "a@example.com\nBcc: x@evil.example" }), 400,
            { "invalid email 'a@example.com\\nBcc: x@evil.example' in email" })
create_case("with ' OR 1=1 -- in the email", registration({ email = "x' OR '1'='1" }), 400,
            { "invalid email 'x\\' OR \\'1\\'=\\'1' in email" })
create_case("with CR in full_name", registration({ meta = { full_name = "A\rB" } }), 400,
            { "meta.full_name 'A\\rB' contains control characters" })
create_case("with a JSON array", "[]", 400, { "the request body must be a JSON object, got array" })
create_case("with truncated JSON", "{", 400, { "malformed JSON in the request body" })


-- Admin API: POST /developers/invite and the approved email ---------------------

local function invite_case(name, body, status, expected)
  add({
    name = "invite " .. name, method = "POST", path = "/developers/invite",
    body = body, status = status, contains = expected,
  })
end

invite_case("without emails", "{}", 400,
            { "emails is required: a comma-separated string or an array of addresses" })
invite_case("with only separators", '{"emails":" ,; \\r\\n "}', 400, { "emails is required" })
invite_case("with emails as a number", '{"emails":5}', 400,
            { "emails must be a string or an array of strings, got number 5" })
invite_case("with emails as an object", '{"emails":{"a":1}}', 400,
            { 'emails must be a string or an array of strings, got object {"a":1}' })
invite_case("with a null element", '{"emails":["a@example.com",null]}', 400,
            { "emails must be strings, got null" })
invite_case("with a number element", '{"emails":["a@example.com",5]}', 400,
            { "emails must be strings, got number 5" })
invite_case("with an unknown field", '{"email":"a@example.com"}', 400,
            { "unknown field 'email' in the request body (accepted: emails)" })
invite_case("with a duplicate key", '{"emails":"a@example.com","emails":"b@example.com"}', 400,
            { "key 'emails' is given twice" })
invite_case("with 1001 addresses", cjson.encode({ emails = (function()
              local list = {}
              for i = 1, 1001 do
                list[i] = "dev" .. i .. "@example.com"
              end
              return table.concat(list, ",")
            end)() }), 400, { "too many addresses: 1001 (at most 1000 per invite)" })
invite_case("with a list over 256 KiB", cjson.encode({ emails = string.rep(" ", 262145) }), 400,
            { "invite list too large: 262145 bytes (at most 262144 bytes, 256 KiB)" })

local function invite_result_case(name, emails, check)
  add({
    name = "invite " .. name, method = "POST", path = "/developers/invite",
    body = cjson.encode({ emails = emails }), status = 200, check = check,
  })
end

invite_result_case("array element with CR LF", { "a@example.com\r\nBcc: x@evil.example" },
  function(json)
    assert.same({}, json.links)
    assert.same({}, json.invited)
    assert.same("a@example.com\\r\\nBcc: x@evil.example", json.invalid[1].email)
  end)
invite_result_case("array element with a space", { "a b@example.com" }, function(json)
  assert.same({}, json.invited)
  assert.same("a b@example.com", json.invalid[1].email)
end)
invite_result_case("array element with a comma", { "a@example.com,b@example.com" },
  function(json)
    assert.same({}, json.invited)
    assert.same("a@example.com,b@example.com", json.invalid[1].email)
  end)
invite_result_case("string with CR LF Bcc:", "new1@example.com\r\nBcc: new2@example.com",
  function(json)
    -- In a string, line breaks separate entries: `Bcc:` is one invalid entry.
    assert.same({ "new1@example.com", "new2@example.com" }, json.invited)
    assert.same("Bcc:", json.invalid[1].email)
    assert.same("new1@example.com,new2@example.com", bcc_part(json.links[1]))
    assert.is_nil(json.links[1]:find("[\r\n ]"))
  end)
invite_result_case("literal %0A in an address", { "a%0Ab@example.com" }, function(json)
  assert.same({ "a%0Ab@example.com" }, json.invited)
  assert.same("a%250Ab@example.com", bcc_part(json.links[1]))
end)
invite_result_case("SQL in the list", "' OR 1=1 --, \"; DROP TABLE developers; --",
  function(json)
    assert.same({}, json.invited)
    assert.is_true(#json.invalid >= 4)
  end)

add({
  name = "approved email with %0D%0A in full_name", method = "GET",
  path = "/developers/percent@example.com/email", status = 200,
  before = function()
    local status = helpers.admin("PATCH", "/developers/percent@example.com", { status = 0 })
    assert.same(200, status)
  end,
  check = function(json)
    assert.is_nil(json.mailto:find("[\r\n ]"))
    assert.matches("Ada%250D%250ABcc", json.mailto, 1, true)
  end,
})

add({
  name = "PATCH with CR LF escapes in Kong-Admin-User", method = "PATCH",
  path = "/developers/robert@example.com", body = '{"status":"approved"}',
  headers = { ["Content-Type"] = "application/json",
              ["Kong-Admin-User"] = "eve%0D%0AX-Injected: 1" },
  status = 200,
  check = function(json, headers)
    assert.same("approved", json.developer.status_label)
    assert.is_nil(headers["x-injected"])
    local _, _, history = helpers.admin("GET", "/developers/robert@example.com/history")
    assert.same("eve%0D%0AX-Injected: 1", history.data[#history.data].by)
  end,
})


-- kong.conf: each case is one failed start ------------------------------------

local CONF_CASES = {
  { "portal_auto_approve = yes", "portal_auto_approve: invalid boolean 'yes'",
    "(accepted: on, off, true, false)" },
  { "portal_invite_email = 2", "portal_invite_email: invalid boolean '2'",
    "(accepted: on, off, true, false)" },
  { "portal_approved_email = maybe", "portal_approved_email: invalid boolean 'maybe'",
    "(accepted: on, off, true, false)" },
  { "portal_auto_approve = on' OR 1=1 --",
    "portal_auto_approve: invalid boolean 'on' OR 1=1 --'", "(accepted: on, off, true, false)" },
  { "portal_token_exp = 0", "portal_token_exp: invalid number '0'",
    "(accepted: a positive whole number of seconds)" },
  { "portal_token_exp = -5", "portal_token_exp: invalid number '-5'",
    "(accepted: a positive whole number of seconds)" },
  { "portal_token_exp = 1e9", "portal_token_exp: invalid number '1e9'",
    "(accepted: a positive whole number of seconds)" },
  { "portal_token_exp = 99999999999999999999999",
    "portal_token_exp: invalid number '99999999999999999999999'",
    "(accepted: a positive whole number of seconds)" },
  { "portal_gui_protocol = ftp", "portal_gui_protocol: invalid value 'ftp'",
    "(accepted: http, https)" },
  { "portal_gui_host = exa mple.com", "portal_gui_host: invalid value 'exa mple.com'",
    "(accepted: a host name or IP address" },
  { 'portal_gui_host = "; DROP TABLE developers; --',
    "portal_gui_host: invalid value '\"; DROP TABLE developers; --'",
    "(accepted: a host name or IP address" },
  { "portal_gui_url = javascript:alert(1)", "portal_gui_url: invalid URL 'javascript:alert(1)'",
    "with scheme http or https)" },
  { "portal_gui_url = http://exa mple.com", "portal_gui_url: invalid URL 'http://exa mple.com'",
    "with scheme http or https)" },
  { "portal_emails_from = not-an-email", "portal_emails_from: invalid value 'not-an-email'",
    "(accepted: an email address or Name <address>" },
  { "portal_emails_reply_to = a@example.com%0ABcc: x@evil.example",
    "portal_emails_reply_to: invalid value 'a@example.com%0ABcc: x@evil.example'",
    "(accepted: an email address or Name <address>" },
  { "portal_auth = BASIC-AUTH", "portal_auth: invalid value 'BASIC-AUTH'",
    "(accepted: basic-auth, key-auth, openid-connect)" },
  { "portal_auth_conf = [1,2]", "portal_auth_conf: invalid JSON object '[1,2]'",
    "(accepted: a JSON object" },
  { "portal_register_max_body = 100", "portal_register_max_body: invalid number '100'",
    "(accepted: a whole number of bytes from 1024 to 1048576)" },
  { "portal_register_max_body = 2000000", "portal_register_max_body: invalid number '2000000'",
    "(accepted: a whole number of bytes from 1024 to 1048576)" },
  { "portal_register_max_body = 16k", "portal_register_max_body: invalid number '16k'",
    "(accepted: a whole number of bytes from 1024 to 1048576)" },
  { "portal_register_rate_limit = -1", "portal_register_rate_limit: invalid number '-1'",
    "(accepted: a whole number of registrations per minute, 0 for no limit)" },
  { "portal_register_rate_limit = 1.5", "portal_register_rate_limit: invalid number '1.5'",
    "(accepted: a whole number of registrations per minute, 0 for no limit)" },
  { "portal_register_rate_limit = 99999999999",
    "portal_register_rate_limit: invalid number '99999999999'",
    "(accepted: a whole number of registrations per minute, 0 for no limit)" },
}


describe("developer-portal bad input table", function()
  setup(function()
    assert(helpers.start_host({
      conf = "portal_auth = basic-auth\nportal_register_rate_limit = 0\n",
    }))
    helpers.register("Taken@Example.com", "Taken")
  end)

  teardown(function()
    helpers.stop_host()
  end)

  it("has at least 100 request cases", function()
    assert.is_true(#CASES >= 100, #CASES .. " cases")
  end)

  for i, case in ipairs(CASES) do
    it(string.format("case %d: %s returns %d", i, case.name, case.status), function()
      if case.before then
        case.before()
      end
      local headers = {}
      for name, value in pairs(case.headers) do
        headers[name] = value
      end
      local status, text, json, response_headers = helpers[case.api](case.method, case.path,
                                                                      case.body, headers)
      assert.is_number(status, "no HTTP answer: " .. tostring(status))
      assert.is_true(status < 500, "5xx: " .. text)
      assert.same(case.status, status)
      if case.nginx then
        assert.same({ message = "Bad request" }, json)
      elseif case.check then
        assert.is_table(json, text)
        case.check(json, response_headers)
      else
        assert.is_table(json, text)
        assert.is_string(json.message, text)
        for _, expected in ipairs(case.contains) do
          assert.matches(expected, json.message, 1, true)
        end
      end
    end)
  end

  it("keeps the store consistent after the table", function()
    local status, _, json = helpers.admin("GET", "/developers/counts")
    assert.same(200, status)
    assert.same(4, json.total)
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)


describe("developer-portal bad kong.conf table", function()
  local function conf_path()
    return helpers.prefix .. "/kong.conf"
  end

  teardown(function()
    helpers.stop_host()
  end)

  for _, case in ipairs(CONF_CASES) do
    local line, property_and_value, accepted = case[1], case[2], case[3]
    it("stops start-up for " .. line, function()
      local ok, output = helpers.start_host({ conf = "portal_auth = basic-auth\n" .. line .. "\n" })
      assert.is_false(ok)
      assert.is_string(output)
      assert.matches(property_and_value .. " at " .. conf_path() .. ":2", output, 1, true)
      assert.matches(accepted, output, 1, true)
      assert.is_false(helpers.is_listening(helpers.ports.admin))
    end)
  end

  -- Runs host/run with `path` as --conf, as helpers.start_host does with
  -- the file it writes. Returns whether the start succeeded and its output.
  local function start_with_conf_path(path)
    helpers.stop_host()
    local p = helpers.ports
    local out = os.tmpname()
    local command = string.format(
      "HOST_PROXY_PORT=%d HOST_ADMIN_PORT=%d HOST_GUI_PORT=%d HOST_PORTAL_GUI_PORT=%d "
      .. "HOST_PORTAL_API_PORT=%d HOST_UPSTREAM_PORT=%d host/run start --prefix '%s' "
      .. "--conf '%s' > '%s' 2>&1",
      p.proxy, p.admin, p.gui, p.portal_gui, p.portal_api, p.upstream,
      helpers.prefix, path, out)
    local ok = os.execute(command)
    local output = helpers.read_file(out)
    os.remove(out)
    return ok == true or ok == 0, output
  end

  it("stops start-up for a kong.conf path that is a directory", function()
    local dir = helpers.prefix .. "-conf-dir"
    os.execute("mkdir -p '" .. dir .. "'")
    local ok, output = start_with_conf_path(dir)
    os.execute("rmdir '" .. dir .. "'")
    assert.is_false(ok)
    assert.matches("no file at: " .. dir, output, 1, true)
    assert.is_false(helpers.is_listening(helpers.ports.admin))
  end)

  it("stops start-up for a missing kong.conf", function()
    local missing = helpers.prefix .. "-missing/kong.conf"
    local ok, output = start_with_conf_path(missing)
    assert.is_false(ok)
    assert.matches("no file at: " .. missing, output, 1, true)
    assert.is_false(helpers.is_listening(helpers.ports.admin))
  end)

  it("stops start-up for an unreadable kong.conf", function()
    -- The nginx master reads kong.conf with the user that starts it, and
    -- root reads a file whatever its mode.
    local uid = io.popen("id -u"):read("*l")
    if uid == "0" then
      pending("running as root, which reads a file with mode 000")
      return
    end
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("portal_auth = basic-auth\n")
    f:close()
    os.execute("chmod 000 '" .. path .. "'")
    local ok, output = start_with_conf_path(path)
    os.remove(path)
    assert.is_false(ok)
    assert.matches("failed to read " .. path, output, 1, true)
  end)
end)


-- portal_register_max_body and portal_register_rate_limit on a host with
-- small limits. The rate limit is counted in the store file, so it holds
-- across both nginx workers.
describe("developer-portal request limits", function()
  local MAX_REQUESTS = 200

  local function registration_for(email)
    return registration({ email = email, meta = { full_name = "Limit Test" } })
  end

  setup(function()
    assert(helpers.start_host({
      conf = "portal_auth = basic-auth\nportal_register_rate_limit = 3\n"
             .. "portal_register_max_body = 2048\n",
    }))
  end)

  teardown(function()
    helpers.stop_host()
  end)

  it("rejects a body one byte over portal_register_max_body", function()
    local body = registration_for("big@example.com")
    body = body .. string.rep(" ", 2049 - #body)
    local status, text, json = helpers.portal("POST", "/register", body, JSON)
    assert.same(413, status, text)
    assert.same({ message = "request body too large: 2049 bytes (at most 2048 bytes, "
                            .. "set by portal_register_max_body)" }, json)
  end)

  it("rejects an oversized login body", function()
    local status, _, json = helpers.portal("POST", "/login", string.rep(" ", 4096), JSON)
    assert.same(413, status)
    assert.matches("4096 bytes (at most 2048 bytes", json.message, 1, true)
  end)

  it("does not count malformed registrations", function()
    for i = 1, 5 do
      local status = helpers.portal("POST", "/register",
                                    registration_for("bad" .. i .. "@localhost"), JSON)
      assert.same(400, status)
    end
  end)

  it("accepts a body at the limit and two more registrations", function()
    local body = registration_for("limit1@example.com")
    body = body .. string.rep(" ", 2048 - #body)
    local status, text = helpers.portal("POST", "/register", body, JSON)
    assert.same(201, status, text)
    for i = 2, 3 do
      status, text = helpers.portal("POST", "/register",
                                    registration_for("limit" .. i .. "@example.com"), JSON)
      assert.same(201, status, text)
    end
  end)

  it("refuses the fourth registration on both workers", function()
    local workers, worker_count = {}, 0
    for i = 1, MAX_REQUESTS do
      local status, text, json, headers = helpers.portal(
        "POST", "/register", registration_for("over" .. i .. "@example.com"), JSON)
      assert.same(429, status, text)
      assert.matches("^too many registrations from 127%.0%.0%.1: at most 3 per minute "
                     .. "%(portal_register_rate_limit%); retry in %d+ seconds$", json.message)
      local wait = tonumber(json.message:match("retry in (%d+) seconds"))
      assert.is_true(wait >= 1 and wait <= 60, tostring(wait))
      assert.same(tostring(wait), headers["retry-after"])
      local pid = headers["x-host-worker"]
      if not workers[pid] then
        workers[pid] = true
        worker_count = worker_count + 1
        if worker_count == 2 then
          break
        end
      end
    end
    assert.same(2, worker_count)
  end)

  it("stored only the admitted registrations", function()
    local status, _, json = helpers.admin("GET", "/developers/counts")
    assert.same(200, status)
    assert.same(3, json.total)
  end)

  it("leaves login unlimited", function()
    for _ = 1, 5 do
      local status = helpers.portal("POST", "/login",
                                    { email = "limit1@example.com", password = "wrong password" })
      assert.same(401, status)
    end
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)

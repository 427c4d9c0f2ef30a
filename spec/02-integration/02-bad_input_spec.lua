-- Bad input on the Admin API and the Portal API: every case gets a 4xx whose
-- message names the value, and none gets a 5xx.

local helpers = require "helpers"


local JSON = { ["Content-Type"] = "application/json" }
local FORM = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local ACCEPTED_STATUSES = "(accepted: 0 or approved, 1 or requested (alias pending), "
                          .. "2 or rejected, 3 or revoked)"
local ACCEPTED_SIZE = "(accepted: an integer from 1 to 1000)"
local ACCEPTED_OFFSET = "(accepted: the offset value returned with the previous page)"


-- Builds a JSON registration body with one field replaced.
local function registration(email)
  return string.format(
    '{"email":%s,"password":"correct horse battery","meta":{"full_name":"Test"}}', email)
end


-- Sends one case. `case.body` is sent as-is with `case.headers` (JSON by
-- default); a table body is encoded as JSON by the helper.
local function send(api, case)
  local headers = {}
  for name, value in pairs(case.headers or JSON) do
    headers[name] = value
  end
  return helpers[api](case.method, case.path, case.body, headers)
end


local function run_cases(api, cases)
  for _, case in ipairs(cases) do
    it("returns " .. case.status .. " for " .. case.name, function()
      local status, text, json = send(api, case)
      assert.is_true(status < 500, "5xx for " .. case.name .. ": " .. text)
      assert.same(case.status, status)
      assert.same({ message = case.message }, json)
    end)
  end
end


describe("developer-portal bad input", function()
  local developer

  setup(function()
    assert(helpers.start_host())
    developer = helpers.register("Taken@Example.com", "Taken")
  end)

  teardown(function()
    helpers.stop_host()
  end)

  describe("/register", function()
    describe("POST", function()
      run_cases("portal", {
        {
          name = "malformed JSON",
          method = "POST", path = "/register", body = '{"email": ',
          status = 400,
          message = "malformed JSON in the request body: EOF while parsing a value "
                    .. "at line 1 column 10",
        },
        {
          name = "a JSON array body",
          method = "POST", path = "/register", body = "[1,2]",
          status = 400,
          message = "the request body must be a JSON object, got array",
        },
        {
          name = "a duplicate JSON key",
          method = "POST", path = "/register",
          body = '{"email":"a@example.com","email":"b@example.com"}',
          status = 400,
          message = "malformed JSON in the request body: key 'email' is given twice "
                    .. "at line 1 column 49",
        },
        {
          name = "a duplicate nested JSON key",
          method = "POST", path = "/register",
          body = '{"meta":{"full_name":"x","full_name":"y"}}',
          status = 400,
          message = "malformed JSON in the request body: key 'full_name' is given twice "
                    .. "at line 1 column 41",
        },
        {
          name = "a duplicate form field",
          method = "POST", path = "/register", headers = FORM,
          body = "email=a%40example.com&email=b%40example.com",
          status = 400,
          message = "field 'email' is given twice in the request body",
        },
        {
          name = "email as a number",
          method = "POST", path = "/register", body = registration("5"),
          status = 400,
          message = "invalid email '5' in email: missing '@' symbol",
        },
        {
          name = "email as an array",
          method = "POST", path = "/register", body = registration('["a@example.com"]'),
          status = 400,
          message = 'email must be a string, got array ["a@example.com"]',
        },
        {
          name = "an unknown field",
          method = "POST", path = "/register", body = '{"emial":"a@example.com"}',
          status = 400,
          message = "unknown field 'emial' in the request body "
                    .. "(accepted: email, password, key, meta)",
        },
        {
          name = "a missing email",
          method = "POST", path = "/register",
          body = '{"password":"correct horse battery","meta":{"full_name":"Test"}}',
          status = 400,
          message = "email is required",
        },
        {
          name = "an email without '@'",
          method = "POST", path = "/register", body = registration('"ada.example.com"'),
          status = 400,
          message = "invalid email 'ada.example.com' in email: missing '@' symbol",
        },
        {
          name = "an email without a domain",
          method = "POST", path = "/register", body = registration('"ada@"'),
          status = 400,
          message = "invalid email 'ada@' in email: missing domain",
        },
        {
          name = "an email without a local part",
          method = "POST", path = "/register", body = registration('"@example.com"'),
          status = 400,
          message = "invalid email '@example.com' in email: missing local-part",
        },
        {
          name = "an email with a space",
          method = "POST", path = "/register", body = registration('"a b@example.com"'),
          status = 400,
          message = "invalid email 'a b@example.com' in email: contains whitespace or "
                    .. "control characters",
        },
        {
          name = "an email without a dot in the domain",
          method = "POST", path = "/register", body = registration('"a@localhost"'),
          status = 400,
          message = "invalid email 'a@localhost' in email: domain missing '.' character",
        },
        {
          name = "an email with '..'",
          method = "POST", path = "/register", body = registration('"a..b@example.com"'),
          status = 400,
          message = "invalid email 'a..b@example.com' in email: invalid format: "
                    .. "local-part contains '..'",
        },
        {
          name = "a short password",
          method = "POST", path = "/register",
          body = '{"email":"a@example.com","password":"short","meta":{"full_name":"x"}}',
          status = 400,
          message = "password must be 8 to 256 characters long, got 5",
        },
        {
          name = "a missing meta",
          method = "POST", path = "/register",
          body = '{"email":"a@example.com","password":"correct horse battery"}',
          status = 400,
          message = "meta is required: a JSON object with full_name",
        },
        {
          name = "a blank full_name",
          method = "POST", path = "/register",
          body = '{"email":"a@example.com","password":"correct horse battery",'
                 .. '"meta":{"full_name":"  "}}',
          status = 400,
          message = "meta.full_name is required and must not be blank",
        },
        {
          name = "an unsupported content type",
          method = "POST", path = "/register", headers = { ["Content-Type"] = "text/xml" },
          body = "<developer/>",
          status = 400,
          message = "unsupported content type 'text/xml' "
                    .. "(accepted: application/json, application/x-www-form-urlencoded)",
        },
        {
          name = "an email taken in another case",
          method = "POST", path = "/register", body = registration('"taken@EXAMPLE.com"'),
          status = 409,
          message = "a developer with email 'taken@EXAMPLE.com' already exists "
                    .. "(emails are compared without regard to letter case)",
        },
      })

      it("returns 413 for a body over 64k and stores nothing", function()
        -- Valid JSON padded with whitespace, so only its size is wrong.
        local body = '{"email":"big@example.com","password":"correct horse battery",'
                     .. '"meta":{"full_name":"Big"}}' .. string.rep(" ", 70 * 1024)
        local status = helpers.portal("POST", "/register", body, { ["Content-Type"] = "application/json" })
        assert.same(413, status)

        local json
        status, _, json = helpers.admin("GET", "/developers/big@example.com")
        assert.same(404, status)
        assert.same({ message = "no developer with id or email 'big@example.com'" }, json)

        status, _, json = helpers.admin("GET", "/developers/counts")
        assert.same(200, status)
        assert.same(1, json.total)
      end)

      it("accepts the same body at portal_register_max_body", function()
        local body = '{"email":"big@example.com","password":"correct horse battery",'
                     .. '"meta":{"full_name":"Big"}}'
        body = body .. string.rep(" ", 16384 - #body)
        local status = helpers.portal("POST", "/register", body, { ["Content-Type"] = "application/json" })
        assert.same(201, status)
      end)
    end)
  end)

  describe("/developers", function()
    describe("GET", function()
      local cases = {}
      for _, status in ipairs({ "4", "invited", "-1" }) do
        cases[#cases + 1] = {
          name = "status=" .. status,
          method = "GET", path = "/developers?status=" .. status,
          status = 400,
          message = "invalid status '" .. status .. "' " .. ACCEPTED_STATUSES,
        }
      end
      for _, size in ipairs({ "0", "1001", "abc", "-1" }) do
        cases[#cases + 1] = {
          name = "size=" .. size,
          method = "GET", path = "/developers?size=" .. size,
          status = 400,
          message = "invalid size '" .. size .. "' " .. ACCEPTED_SIZE,
        }
      end
      for _, offset in ipairs({ "abc", "0" }) do
        cases[#cases + 1] = {
          name = "offset=" .. offset,
          method = "GET", path = "/developers?offset=" .. offset,
          status = 400,
          message = "invalid offset '" .. offset .. "' " .. ACCEPTED_OFFSET,
        }
      end
      cases[#cases + 1] = {
        name = "a duplicate query parameter",
        method = "GET", path = "/developers?size=1&size=2",
        status = 400,
        message = "field 'size' is given twice in the request query",
      }
      cases[#cases + 1] = {
        name = "an unknown query parameter",
        method = "GET", path = "/developers?sort_by=email",
        status = 400,
        message = "unknown field 'sort_by' in the request query "
                  .. "(accepted: status, q, size, offset)",
      }
      run_cases("admin", cases)
    end)

    describe("POST", function()
      run_cases("admin", {
        {
          name = "an unknown status",
          method = "POST", path = "/developers",
          body = '{"email":"new@example.com","password":"correct horse battery",'
                 .. '"meta":{"full_name":"New"},"status":"invited"}',
          status = 400,
          message = "invalid status 'invited' " .. ACCEPTED_STATUSES,
        },
        {
          name = "an email taken in another case",
          method = "POST", path = "/developers", body = registration('"TAKEN@example.com"'),
          status = 409,
          message = "a developer with email 'TAKEN@example.com' already exists "
                    .. "(emails are compared without regard to letter case)",
        },
        {
          name = "malformed JSON",
          method = "POST", path = "/developers", body = "{",
          status = 400,
          message = "malformed JSON in the request body: EOF while parsing an object "
                    .. "at line 1 column 1",
        },
      })
    end)
  end)

  describe("/developers/{id}", function()
    local unknown = {
      { label = "id", value = "00000000-0000-0000-0000-000000000000" },
      { label = "email", value = "nobody@example.com" },
    }

    for _, method in ipairs({ "GET", "PATCH", "DELETE" }) do
      describe(method, function()
        local cases = {}
        for _, u in ipairs(unknown) do
          cases[#cases + 1] = {
            name = "an unknown " .. u.label,
            method = method, path = "/developers/" .. u.value,
            body = method == "PATCH" and '{"status":0}' or nil,
            status = 404,
            message = "no developer with id or email '" .. u.value .. "'",
          }
        end
        run_cases("admin", cases)
      end)
    end

    describe("PATCH", function()
      local function patch(name, body, status, message, headers)
        return {
          name = name,
          method = "PATCH", path = "/developers/taken@example.com",
          body = body, headers = headers,
          status = status, message = message,
        }
      end

      local cases = {
        patch("no status", "{}", 400, "status is required"),
        patch("an empty body", "", 400, "status is required"),
        patch("a blank status", '{"status":" "}', 400, "status is required"),
        patch("an unknown field", '{"status":0,"email":"x@example.com"}', 400,
              "unknown field 'email' in the request body (accepted: status)"),
        patch("status as an array", '{"status":[0]}', 400,
              "status must be a string, got array [0]"),
        patch("an unsupported content type", "status=0", 400,
              "unsupported content type 'text/plain' "
              .. "(accepted: application/json, application/x-www-form-urlencoded)",
              { ["Content-Type"] = "text/plain" }),
        patch("malformed JSON", '{"status":0', 400,
              "malformed JSON in the request body: EOF while parsing an object "
              .. "at line 1 column 11"),
        patch("a duplicate JSON key", '{"status":0,"status":2}', 400,
              "malformed JSON in the request body: key 'status' is given twice "
              .. "at line 1 column 23"),
      }
      for _, status in ipairs({ "4", "invited", "-1" }) do
        cases[#cases + 1] = patch("status " .. status, '{"status":"' .. status .. '"}', 400,
                                  "invalid status '" .. status .. "' " .. ACCEPTED_STATUSES)
        cases[#cases + 1] = patch("form status " .. status, "status=" .. status, 400,
                                  "invalid status '" .. status .. "' " .. ACCEPTED_STATUSES,
                                  FORM)
      end
      run_cases("admin", cases)

      it("leaves the developer unchanged", function()
        local status, _, json = helpers.admin("GET", "/developers/" .. developer.id)
        assert.same(200, status)
        assert.same("requested", json.status_label)
      end)
    end)
  end)

  describe("/developers/{id}/history", function()
    describe("GET", function()
      run_cases("admin", {
        {
          name = "an unknown email",
          method = "GET", path = "/developers/nobody%40example.com/history",
          status = 404,
          message = "no developer with id or email 'nobody@example.com'",
        },
      })
    end)
  end)

  describe("/developers/{id}/email", function()
    describe("GET", function()
      run_cases("admin", {
        {
          name = "an unknown email",
          method = "GET", path = "/developers/nobody%40example.com/email",
          status = 404,
          message = "no developer with id or email 'nobody@example.com'",
        },
        {
          name = "a requested developer",
          method = "GET", path = "/developers/taken@example.com/email",
          status = 409,
          message = "'Taken@Example.com' is requested: only approved developers get the "
                    .. "approved email",
        },
      })
    end)
  end)

  describe("/developers/invite", function()
    describe("POST", function()
      run_cases("admin", {
        {
          name = "no emails",
          method = "POST", path = "/developers/invite", body = "{}",
          status = 400,
          message = "emails is required: a comma-separated string or an array of addresses",
        },
        {
          name = "an empty emails string",
          method = "POST", path = "/developers/invite", body = '{"emails":" , "}',
          status = 400,
          message = "emails is required: a comma-separated string or an array of addresses",
        },
        {
          name = "emails as a number",
          method = "POST", path = "/developers/invite", body = '{"emails":5}',
          status = 400,
          message = "emails must be a string or an array of strings, got number 5",
        },
        {
          name = "a number in the emails array",
          method = "POST", path = "/developers/invite", body = '{"emails":["a@example.com",5]}',
          status = 400,
          message = "emails must be strings, got number 5",
        },
        {
          name = "an unknown field",
          method = "POST", path = "/developers/invite", body = '{"email":"a@example.com"}',
          status = 400,
          message = "unknown field 'email' in the request body (accepted: emails)",
        },
      })

      it("treats an array element with a space as one address", function()
        local status, _, json = helpers.admin("POST", "/developers/invite", {
          emails = { "a b@example.com" },
        })
        assert.same(200, status)
        assert.same({}, json.invited)
        assert.same(1, #json.invalid)
        assert.same("a b@example.com", json.invalid[1].email)
      end)
    end)
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)

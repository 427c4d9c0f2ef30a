-- Start-up with kong.conf settings. An invalid value stops the host with a
-- message naming the property, the value, the file and line and the accepted
-- values. Valid settings change what the APIs do. Each case restarts the
-- host with helpers.start_host, which stops the previous one.

local helpers = require "helpers"


local REGISTRATION = {
  email = "conf@example.com",
  password = "correct horse battery",
  meta = { full_name = "Conf Test" },
}


local function conf_path()
  return helpers.prefix .. "/kong.conf"
end


local function register_status()
  local status, text, json = helpers.portal("POST", "/register", REGISTRATION)
  assert(status == 201, "register: " .. tostring(status) .. " " .. text)
  return json.developer.status_label
end


describe("developer-portal kong.conf", function()
  teardown(function()
    helpers.stop_host()
  end)

  describe("invalid values", function()
    local cases = {
      {
        name = "portal_auto_approve = yes",
        conf = "portal_auth = basic-auth\nportal_auto_approve = yes\n",
        expected = {
          "portal_auto_approve: invalid boolean 'yes' at " .. conf_path() .. ":2",
          "(accepted: on, off, true, false)",
        },
      },
      {
        name = "portal_auto_approve = 1",
        conf = "portal_auto_approve = 1\n",
        expected = {
          "portal_auto_approve: invalid boolean '1' at " .. conf_path() .. ":1",
          "(accepted: on, off, true, false)",
        },
      },
      {
        name = "an unknown portal_auth",
        conf = "portal_auth = basic\n",
        expected = {
          "portal_auth: invalid value 'basic' at " .. conf_path() .. ":1",
          "(accepted: basic-auth, key-auth, openid-connect)",
        },
      },
      {
        name = "portal_auth_conf that is not JSON",
        conf = "portal_auth = basic-auth\nportal_auth_conf = {bad\n",
        expected = {
          "portal_auth_conf: invalid JSON object '{bad' at " .. conf_path() .. ":2",
          "(accepted: a JSON object",
        },
      },
    }

    for _, case in ipairs(cases) do
      it("stops start-up for " .. case.name, function()
        local ok, output = helpers.start_host({ conf = case.conf })
        assert.is_false(ok)
        assert.is_string(output)
        for _, expected in ipairs(case.expected) do
          assert.matches(expected, output, 1, true)
        end
        assert.is_false(helpers.is_listening(helpers.ports.admin))
      end)
    end

    it("stops start-up for an invalid KONG_PORTAL_AUTO_APPROVE", function()
      local ok, output = helpers.start_host({
        conf = "portal_auth = basic-auth\n",
        env = "KONG_PORTAL_AUTO_APPROVE=yes",
      })
      assert.is_false(ok)
      assert.matches("portal_auto_approve: invalid boolean 'yes'", output, 1, true)
      assert.matches("KONG_PORTAL_AUTO_APPROVE", output, 1, true)
      assert.matches("(accepted: on, off, true, false)", output, 1, true)
    end)
  end)

  describe("portal_auto_approve", function()
    it("registers developers as requested when off", function()
      assert(helpers.start_host({ conf = "portal_auth = basic-auth\nportal_auto_approve = off\n" }))
      assert.same("requested", register_status())
    end)

    it("registers developers as approved when on", function()
      assert(helpers.start_host({ conf = "portal_auth = basic-auth\nportal_auto_approve = on\n" }))
      assert.same("approved", register_status())
    end)

    it("accepts ON in upper case", function()
      assert(helpers.start_host({ conf = "portal_auth = basic-auth\nportal_auto_approve = ON\n" }))
      assert.same("approved", register_status())
    end)

    it("is overridden by KONG_PORTAL_AUTO_APPROVE", function()
      assert(helpers.start_host({
        conf = "portal_auth = basic-auth\nportal_auto_approve = off\n",
        env = "KONG_PORTAL_AUTO_APPROVE=on",
      }))
      assert.same("approved", register_status())
    end)

    it("is not overridden by an empty KONG_PORTAL_AUTO_APPROVE", function()
      assert(helpers.start_host({
        conf = "portal_auth = basic-auth\nportal_auto_approve = on\n",
        env = "KONG_PORTAL_AUTO_APPROVE=",
      }))
      assert.same("approved", register_status())
    end)
  end)

  describe("portal_invite_email", function()
    it("makes /developers/invite return 501 when off", function()
      assert(helpers.start_host({ conf = "portal_auth = basic-auth\nportal_invite_email = off\n" }))
      local status, _, json = helpers.admin("POST", "/developers/invite", {
        emails = "new@example.com",
      })
      assert.same(501, status)
      assert.same({ message = "invitations are off: set portal_invite_email = on in kong.conf" },
                  json)
    end)
  end)

  describe("portal_auth", function()
    it("makes /register return 501 when unset", function()
      assert(helpers.start_host({ conf = "portal_auto_approve = off\n" }))
      local status = helpers.portal("POST", "/register", REGISTRATION)
      assert.same(501, status)

      local counts
      status, _, counts = helpers.admin("GET", "/developers/counts")
      assert.same(200, status)
      assert.same(0, counts.total)
    end)

    it("names portal_auth in the /register 501 message", function()
      local status, _, json = helpers.portal("POST", "/register", REGISTRATION)
      assert.same(501, status)
      assert.same({
        message = "registration is closed: portal_auth is not set in kong.conf "
                  .. "(accepted: basic-auth, key-auth, openid-connect)",
      }, json)
    end)
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)

-- The README walkthrough over real HTTP: developers register on the Portal
-- API, and an admin lists, approves, revokes, rejects, emails, invites and
-- deletes them on the Admin API. The cases run in order and share the host.

local helpers = require "helpers"
local cjson = require "cjson"


local function form(body)
  return { ["Content-Type"] = "application/x-www-form-urlencoded" }, body
end


local function patch_status(id, status)
  return helpers.admin("PATCH", "/developers/" .. id, { status = status })
end


local function ids_of(list)
  local ids = {}
  for _, developer in ipairs(list) do
    ids[#ids + 1] = developer.id
  end
  return ids
end


describe("developer-portal Admin API", function()
  local ada, bob

  setup(function()
    assert(helpers.start_host())
  end)

  teardown(function()
    helpers.stop_host()
  end)

  describe("/register", function()
    describe("POST", function()
      it("returns 201 with a requested developer", function()
        local status, _, json = helpers.portal("POST", "/register", {
          email = "Ada@Example.com",
          password = "correct horse battery",
          meta = { full_name = "Ada Lovelace" },
        })
        assert.same(201, status)
        ada = json.developer
        assert.same("Ada@Example.com", ada.email)
        assert.same("Ada Lovelace", ada.full_name)
        assert.same(1, ada.status)
        assert.same("requested", ada.status_label)
        assert.same({ full_name = "Ada Lovelace" }, cjson.decode(ada.meta))
        assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", ada.id)
      end)

      it("never returns the password", function()
        local _, text = helpers.admin("GET", "/developers/" .. ada.id)
        assert.is_nil(text:find("correct horse", 1, true))
      end)

      it("registers a second developer", function()
        bob = helpers.register("bob+dev@example.com", "Bob Builder")
        assert.same("requested", bob.status_label)
        assert.same("bob+dev@example.com", bob.email)
      end)
    end)
  end)

  describe("/developers", function()
    describe("GET", function()
      it("lists requested developers by status integer", function()
        local status, _, json = helpers.admin("GET", "/developers?status=1")
        assert.same(200, status)
        assert.same(2, json.total)
        assert.same(cjson.null, json.next)
        assert.same(cjson.null, json.offset)
        assert.same({ bob.id, ada.id }, ids_of(json.data))
      end)

      it("lists requested developers by label", function()
        local status, _, json = helpers.admin("GET", "/developers?status=requested")
        assert.same(200, status)
        assert.same(2, json.total)
        assert.same(cjson.null, json.next)
        assert.same({ bob.id, ada.id }, ids_of(json.data))
      end)

      it("lists no approved developers yet", function()
        local status, _, json = helpers.admin("GET", "/developers?status=0")
        assert.same(200, status)
        assert.same(0, json.total)
        assert.same({}, json.data)
        assert.same(cjson.null, json.next)
      end)
    end)
  end)

  describe("/developers/counts", function()
    describe("GET", function()
      it("counts developers per status", function()
        local status, _, json = helpers.admin("GET", "/developers/counts")
        assert.same(200, status)
        assert.same({ approved = 0, requested = 2, rejected = 0, revoked = 0, total = 2 }, json)
      end)
    end)
  end)

  describe("/developers/{id}", function()
    describe("PATCH", function()
      it("approves with form data and returns the approved email", function()
        local headers, body = form("status=0")
        local status, _, json = helpers.admin("PATCH", "/developers/" .. bob.id, body, headers)
        assert.same(200, status)
        assert.same(true, json.changed)
        assert.same(bob.id, json.developer.id)
        assert.same(0, json.developer.status)
        assert.same("approved", json.developer.status_label)
        local mailto = json.email.mailto
        assert.same("mailto:", mailto:sub(1, 7))
        -- RFC 6068: a '+' in the address is percent-encoded.
        assert.same("mailto:bob%2Bdev@example.com?", mailto:sub(1, 29))
        assert.matches("%2Flogin", mailto, 1, true)
      end)

      it("approves with JSON and returns the approved email", function()
        local status, _, json = patch_status(ada.id, 0)
        assert.same(200, status)
        assert.same(true, json.changed)
        assert.same("approved", json.developer.status_label)
        assert.same("mailto:Ada@Example.com?", json.email.mailto:sub(1, 23))
        assert.matches("%2Flogin", json.email.mailto, 1, true)
      end)

      it("returns 200 with changed=false for the same status", function()
        local status, _, json = patch_status(ada.id, "approved")
        assert.same(200, status)
        assert.same(false, json.changed)
        assert.same("approved", json.developer.status_label)
        assert.is_nil(json.email)
      end)

      it("revokes without an email", function()
        local status, _, json = patch_status(ada.id, 3)
        assert.same(200, status)
        assert.same(true, json.changed)
        assert.same(3, json.developer.status)
        assert.same("revoked", json.developer.status_label)
        assert.is_nil(json.email)
      end)

      it("re-approves from revoked without an email", function()
        local status, _, json = patch_status(ada.id, 0)
        assert.same(200, status)
        assert.same(true, json.changed)
        assert.same("approved", json.developer.status_label)
        assert.is_nil(json.email)
      end)

      it("rejects a requested developer", function()
        local carol = helpers.register("carol@example.com", "Carol")
        local status, _, json = patch_status(carol.id, 2)
        assert.same(200, status)
        assert.same(true, json.changed)
        assert.same(2, json.developer.status)
        assert.same("rejected", json.developer.status_label)
        assert.is_nil(json.email)

        status, _, json = patch_status(carol.id, "approved")
        assert.same(200, status)
        assert.same(true, json.changed)
        assert.same("approved", json.developer.status_label)
        assert.same("mailto:carol@example.com?", json.email.mailto:sub(1, 25))
      end)

      it("returns 409 when requested becomes revoked", function()
        local dave = helpers.register("dave@example.com", "Dave")
        local status, _, json = patch_status(dave.id, 3)
        assert.same(409, status)
        assert.same({
          message = "cannot change the status of 'dave@example.com' from requested "
                    .. "to revoked: a requested developer can only become approved "
                    .. "or rejected",
        }, json)

        status, _, json = helpers.admin("GET", "/developers/" .. dave.id)
        assert.same(200, status)
        assert.same("requested", json.status_label)
      end)
    end)

    describe("GET", function()
      it("finds a developer by email in another case", function()
        local status, _, json = helpers.admin("GET", "/developers/ada@EXAMPLE.COM")
        assert.same(200, status)
        assert.same(ada.id, json.id)
        assert.same("Ada@Example.com", json.email)
      end)

      it("finds a developer by percent-encoded email", function()
        local status, _, json = helpers.admin("GET", "/developers/bob%2Bdev%40example.com")
        assert.same(200, status)
        assert.same(bob.id, json.id)
      end)

      it("finds a developer by email with a literal +", function()
        local status, _, json = helpers.admin("GET", "/developers/bob+dev@example.com")
        assert.same(200, status)
        assert.same(bob.id, json.id)
      end)
    end)
  end)

  describe("/developers/{id}/history", function()
    describe("GET", function()
      it("lists status changes in order", function()
        local status, _, json = helpers.admin("GET", "/developers/" .. ada.id .. "/history")
        assert.same(200, status)
        local rows = {}
        for _, entry in ipairs(json.data) do
          rows[#rows + 1] = { from = entry.from_label, to = entry.to_label, by = entry.by }
          assert.is_number(entry.at)
        end
        assert.same({
          { from = cjson.null, to = "requested", by = "registration" },
          { from = "requested", to = "approved", by = "admin-api" },
          { from = "approved", to = "revoked", by = "admin-api" },
          { from = "revoked", to = "approved", by = "admin-api" },
        }, rows)
        assert.same({ cjson.null, 1, 0, 3 }, {
          json.data[1].from, json.data[2].from, json.data[3].from, json.data[4].from,
        })
      end)

      it("records the Kong-Admin-User header as the admin", function()
        helpers.admin("PATCH", "/developers/" .. ada.id, { status = 3 },
                      { ["Kong-Admin-User"] = "grace" })
        local _, _, json = helpers.admin("GET", "/developers/" .. ada.id .. "/history")
        local last = json.data[#json.data]
        assert.same("grace", last.by)
        assert.same("revoked", last.to_label)
      end)
    end)
  end)

  describe("/developers/{id}/email", function()
    describe("GET", function()
      it("returns the mailto for an approved developer", function()
        local status, _, json = helpers.admin("GET", "/developers/" .. bob.id .. "/email")
        assert.same(200, status)
        assert.same("mailto:bob%2Bdev@example.com?", json.mailto:sub(1, 29))
        assert.matches("%2Flogin", json.mailto, 1, true)
      end)

      it("returns 409 for a revoked developer", function()
        local status, _, json = helpers.admin("GET", "/developers/" .. ada.id .. "/email")
        assert.same(409, status)
        assert.same({
          message = "'Ada@Example.com' is revoked: only approved developers get the "
                    .. "approved email",
        }, json)
      end)
    end)
  end)

  describe("/developers/counts", function()
    describe("GET", function()
      it("counts developers after the changes", function()
        local status, _, json = helpers.admin("GET", "/developers/counts")
        assert.same(200, status)
        assert.same({ approved = 2, requested = 1, rejected = 0, revoked = 1, total = 4 }, json)
      end)
    end)
  end)

  describe("/developers/{id}", function()
    describe("DELETE", function()
      it("returns 204 and the developer is gone", function()
        local status, text = helpers.admin("DELETE", "/developers/" .. ada.id)
        assert.same(204, status)
        assert.same("", text)

        local json
        status, _, json = helpers.admin("GET", "/developers/" .. ada.id)
        assert.same(404, status)
        assert.same({ message = "no developer with id or email '" .. ada.id .. "'" }, json)

        status, _, json = helpers.admin("GET", "/developers/" .. ada.id .. "/history")
        assert.same(404, status)
        assert.same({ message = "no developer with id or email '" .. ada.id .. "'" }, json)
      end)

      it("frees the email for a new registration", function()
        local again = helpers.register("ada@example.com", "Ada Again")
        assert.is_not.same(ada.id, again.id)
        assert.same("requested", again.status_label)
      end)
    end)
  end)

  describe("/developers/invite", function()
    describe("POST", function()
      local function check_invitation(json)
        assert.same({ "new1@example.com", "New2@example.com" }, json.invited)
        assert.same({ { email = "not-an-email", reason = "missing '@' symbol" } }, json.invalid)
        assert.same({
          { email = "new1@EXAMPLE.com", reason = "duplicate of 'new1@example.com'" },
        }, json.duplicates)
        assert.same({
          { id = bob.id, email = "bob+dev@example.com", status = 0, status_label = "approved" },
        }, json.registered)
        assert.same(1, #json.links)
        local link = json.links[1]
        assert.same("mailto:?bcc=new1@example.com,New2@example.com&", link:sub(1, 46))
        assert.matches("%2Fregister", link, 1, true)
      end

      it("accepts emails as a comma-separated string", function()
        local status, _, json = helpers.admin("POST", "/developers/invite", {
          emails = "new1@example.com, New2@example.com,not-an-email, "
                   .. "new1@EXAMPLE.com, BOB+dev@example.com",
        })
        assert.same(200, status)
        check_invitation(json)
      end)

      it("accepts emails as an array", function()
        local status, _, json = helpers.admin("POST", "/developers/invite", {
          emails = {
            "new1@example.com", "New2@example.com", "not-an-email",
            "new1@EXAMPLE.com", "BOB+dev@example.com",
          },
        })
        assert.same(200, status)
        check_invitation(json)
      end)

      it("accepts emails as form data", function()
        local headers, body = form("emails=a%40example.com%2Cb%40example.com")
        local status, _, json = helpers.admin("POST", "/developers/invite", body, headers)
        assert.same(200, status)
        assert.same({ "a@example.com", "b@example.com" }, json.invited)
        assert.same({}, json.invalid)
        assert.same({}, json.duplicates)
        assert.same({}, json.registered)
      end)

      it("returns no link when every address is registered", function()
        local status, _, json = helpers.admin("POST", "/developers/invite", {
          emails = { "bob+dev@example.com" },
        })
        assert.same(200, status)
        assert.same({}, json.links)
        assert.same({}, json.invited)
        assert.same(1, #json.registered)
      end)
    end)
  end)

  describe("/developers pagination", function()
    local created = {}

    setup(function()
      for i = 1, 25 do
        local status, text, json = helpers.admin("POST", "/developers", {
          email = string.format("page%02d@example.com", i),
          password = "correct horse battery",
          meta = { full_name = "Page " .. i },
        })
        assert(status == 201, "create page" .. i .. ": " .. tostring(status) .. " " .. text)
        created[#created + 1] = json.id
      end
    end)

    describe("POST", function()
      it("creates requested developers", function()
        local status, _, json = helpers.admin("GET", "/developers/page01@example.com")
        assert.same(200, status)
        assert.same(created[1], json.id)
        assert.same("requested", json.status_label)
      end)
    end)

    describe("GET", function()
      it("walks every page once with size=7", function()
        local _, _, counts = helpers.admin("GET", "/developers/counts")
        local seen, order, pages = {}, {}, 0
        local path = "/developers?size=7"
        while path ~= nil do
          local status, _, json = helpers.admin("GET", path)
          assert.same(200, status)
          pages = pages + 1
          assert.is_true(pages <= 10, "too many pages")
          assert.same(counts.total, json.total)
          assert.is_true(#json.data <= 7)
          for _, developer in ipairs(json.data) do
            assert.is_nil(seen[developer.id], "listed twice: " .. developer.id)
            seen[developer.id] = true
            order[#order + 1] = developer.id
          end
          if json.next == cjson.null then
            path = nil
            assert.same(cjson.null, json.offset)
          else
            assert.matches("^/developers%?size=7&offset=%d+$", json.next)
            path = json.next
          end
        end
        assert.same(counts.total, #order)
        assert.same(math.ceil(counts.total / 7), pages)
        for _, id in ipairs(created) do
          assert.is_true(seen[id], "never listed: " .. id)
        end
      end)

      it("keeps the status filter in next", function()
        local status, _, json = helpers.admin("GET", "/developers?status=requested&size=7")
        assert.same(200, status)
        assert.matches("^/developers%?status=requested&size=7&offset=%d+$", json.next)
        local _, _, second = helpers.admin("GET", json.next)
        for _, developer in ipairs(second.data) do
          assert.same("requested", developer.status_label)
        end
      end)
    end)
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)

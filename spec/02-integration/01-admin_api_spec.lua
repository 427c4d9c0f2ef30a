local helpers = require "helpers"


describe("developer-portal Admin API", function()
  setup(function()
    assert(helpers.start_host())
  end)

  teardown(function()
    helpers.stop_host()
  end)

  it("registers a developer as requested", function()
    local developer = helpers.register("Ada@Example.com", "Ada Lovelace")
    assert.same("requested", developer.status_label)
    assert.same(1, developer.status)
    assert.same("Ada@Example.com", developer.email)
  end)

  it("lists requested developers", function()
    local status, _, json = helpers.admin("GET", "/developers?status=1")
    assert.same(200, status)
    assert.same(1, json.total)
    assert.same("Ada@Example.com", json.data[1].email)
    assert.same(ngx and ngx.null or require("cjson").null, json.next)
  end)

  it("has no uncaught Lua error in the error log", function()
    assert.same({}, helpers.uncaught_errors())
  end)
end)

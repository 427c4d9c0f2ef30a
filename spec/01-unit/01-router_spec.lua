local helpers = require "helpers"


-- The router reads `ngx.unescape_uri` and `ngx.header`. Like the real
-- ngx.unescape_uri, this double decodes '+' as a space.
local function ngx_double()
  return {
    header = {},
    unescape_uri = function(s)
      s = s:gsub("%+", " ")
      return (s:gsub("%%(%x%x)", function(hex)
        return string.char(tonumber(hex, 16))
      end))
    end,
  }
end


describe("developer-portal host router", function()
  local saved_kong, saved_ngx
  local double, router, calls

  -- Loads the router against a fresh `kong` and `ngx` double, because the
  -- module captures both globals when it is required.
  local function load_router(request)
    double = helpers.kong_double(request)
    _G.kong = double.kong
    _G.ngx = ngx_double()
    package.loaded["host.router"] = nil
    router = require "host.router"
  end

  local function recorder(name)
    return function(self, db, handler_helpers)
      calls[#calls + 1] = {
        name = name,
        params = self.params,
        path = self.req.parsed_url.path,
        db = db,
        helpers = handler_helpers,
      }
    end
  end

  local function routes()
    return {
      ["/developers"] = {
        GET = recorder("list"),
        POST = recorder("create"),
      },
      ["/developers/invite"] = {
        POST = recorder("invite"),
      },
      ["/developers/:developers"] = {
        GET = recorder("get"),
        PATCH = recorder("patch"),
        DELETE = recorder("delete"),
      },
      ["/developers/:developers/history"] = {
        GET = recorder("history"),
      },
      ["/boom"] = {
        GET = function()
          error("kaboom")
        end,
      },
    }
  end

  local function serve(method, path)
    load_router({ method = method, path = path })
    return double:run(router.serve, router.new({ routes() }))
  end

  setup(function()
    saved_kong, saved_ngx = _G.kong, _G.ngx
  end)

  teardown(function()
    _G.kong, _G.ngx = saved_kong, saved_ngx
    package.loaded["host.router"] = nil
  end)

  before_each(function()
    calls = {}
  end)

  describe("matching", function()
    it("prefers a literal route over a :param route", function()
      local exit = serve("POST", "/developers/invite")
      assert.is_nil(exit)
      assert.same(1, #calls)
      assert.same("invite", calls[1].name)
      assert.same({}, calls[1].params)
    end)

    it("passes the segment as a :param", function()
      serve("GET", "/developers/1234")
      assert.same(1, #calls)
      assert.same("get", calls[1].name)
      assert.same({ developers = "1234" }, calls[1].params)
    end)

    it("URL-decodes :param values", function()
      serve("GET", "/developers/Ada%40Example.com")
      assert.same({ developers = "Ada@Example.com" }, calls[1].params)

      calls = {}
      serve("GET", "/developers/a%2Fb%20c/history")
      assert.same("history", calls[1].name)
      assert.same({ developers = "a/b c" }, calls[1].params)
    end)

    it("keeps a literal + in :param values", function()
      serve("GET", "/developers/ada+dev@example.com")
      assert.same({ developers = "ada+dev@example.com" }, calls[1].params)
    end)

    it("matches a literal segment after a :param", function()
      serve("GET", "/developers/42/history")
      assert.same("history", calls[1].name)
      assert.same({ developers = "42" }, calls[1].params)
    end)

    it("ignores a trailing slash", function()
      serve("GET", "/developers/")
      assert.same("list", calls[1].name)
    end)

    it("gives the handler the request path", function()
      serve("GET", "/developers")
      assert.same("/developers", calls[1].path)
      assert.same({}, calls[1].helpers)
    end)

    it("accepts routes from several tables", function()
      load_router({ method = "GET", path = "/extra" })
      local extra = { ["/extra"] = { GET = recorder("extra") } }
      local exit = double:run(router.serve, router.new({ routes(), extra }))
      assert.is_nil(exit)
      assert.same("extra", calls[1].name)
    end)
  end)

  describe("methods", function()
    it("serves HEAD with the GET handler", function()
      serve("HEAD", "/developers/7")
      assert.same(1, #calls)
      assert.same("get", calls[1].name)
    end)

    it("returns 204 with Allow for OPTIONS", function()
      local exit = serve("OPTIONS", "/developers/7")
      assert.same(204, exit.status)
      assert.is_nil(exit.body)
      assert.same("GET, PATCH, DELETE, HEAD, OPTIONS", ngx.header["Allow"])
      assert.same({}, calls)
    end)

    it("lists no HEAD in Allow without GET", function()
      local exit = serve("OPTIONS", "/developers/invite")
      assert.same(204, exit.status)
      assert.same("POST, OPTIONS", ngx.header["Allow"])
    end)

    it("returns 405 for a method the route lacks", function()
      local exit = serve("PUT", "/developers/7")
      assert.same(405, exit.status)
      assert.same({ message = "Method not allowed" }, exit.body)
      assert.same("GET, PATCH, DELETE, HEAD, OPTIONS", ngx.header["Allow"])
      assert.same({}, calls)
    end)

    it("returns 405 for an unknown method", function()
      local exit = serve("BREW", "/developers")
      assert.same(405, exit.status)
      assert.same({ message = "Method not allowed" }, exit.body)
    end)
  end)

  describe("errors", function()
    it("returns 404 for an unknown path", function()
      local exit = serve("GET", "/nope")
      assert.same(404, exit.status)
      assert.same({ message = "Not found" }, exit.body)
    end)

    it("returns 404 for an extra segment", function()
      local exit = serve("GET", "/developers/7/history/more")
      assert.same(404, exit.status)
      assert.same({ message = "Not found" }, exit.body)
      assert.same({}, calls)
    end)

    it("returns 500 when a handler raises", function()
      local exit = serve("GET", "/boom")
      assert.same(500, exit.status)
      assert.same({ message = "An unexpected error occurred" }, exit.body)
    end)

    it("logs the traceback when a handler raises", function()
      serve("GET", "/boom")
      local errors = helpers.logged(double, "err")
      assert.same(1, #errors)
      assert.matches("unexpected error in /boom: ", errors[1], 1, true)
      assert.matches("kaboom", errors[1], 1, true)
      assert.matches("stack traceback:", errors[1], 1, true)
    end)
  end)
end)

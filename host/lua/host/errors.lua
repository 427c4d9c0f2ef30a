-- Responds to errors that nginx raises itself (a body over client_max_body_size,
-- a malformed request line, an unreachable upstream) with a JSON message, as
-- Kong's error handler does, instead of nginx's HTML page.

local ngx = ngx


local MESSAGES = {
  [400] = "Bad request",
  [404] = "Not found",
  [405] = "Method not allowed",
  [408] = "Request timeout",
  [411] = "Length required",
  [412] = "Precondition failed",
  [413] = "Request body too large",
  [414] = "URI too long",
  [417] = "Expectation failed",
  [494] = "Request header or cookie too large",
  [500] = "An unexpected error occurred",
  [502] = "An invalid response was received from the upstream server",
  [503] = "The upstream server is currently unavailable",
  [504] = "The upstream server is timing out",
}


local _M = {}


function _M.handle()
  local status = ngx.status
  local message = MESSAGES[status] or ("The request failed with status " .. status)
  if status == 413 then
    message = message .. ": the limit on this listener is " ..
              (ngx.var.body_limit or "set by client_max_body_size")
  end
  ngx.header["Content-Type"] = "application/json; charset=utf-8"
  ngx.say('{"message":"', message, '"}')
end


return _M

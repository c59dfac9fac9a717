-- wrk script for benches/bench.py: POST the body in $WRK_BODY (JSON), with $WRK_AUTH as the
-- Authorization header when set. Every request is the same; the server mints a new token each time.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or ""
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("WRK_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

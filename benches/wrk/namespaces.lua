-- wrk script for benches/bench.py's `ab` mode: like post.lua, but each request names one of
-- $WRK_NAMESPACES namespaces (X-Wix-Mock-Namespace: ns-0 … ns-N-1), round robin, so several
-- namespaces' state is driven at once.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY") or ""
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("WRK_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = auth
end
local count = tonumber(os.getenv("WRK_NAMESPACES") or "4")
local n = 0
request = function()
  n = n + 1
  wrk.headers["X-Wix-Mock-Namespace"] = "ns-" .. (n % count)
  return wrk.format()
end

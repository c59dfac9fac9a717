// Point the official Wix JavaScript SDK at wix-oauth-mock.
//
// @wix/sdk hard-codes its hosts: AppStrategy and OAuthStrategy call
// https://www.wixapis.com/oauth/access, /oauth2/token and /oauth2/token-info,
// getInstallUrl() builds https://www.wix.com/installer/install, and module calls
// made with OAuthStrategy go to https://edge.wixapis.com. No option changes the
// auth URLs, so this file wraps globalThis.fetch and sends every request for those
// three hosts to the mock instead. Path, query, method, headers and body are kept.
//
// Usage (nothing to import in your code):
//
//   WIX_MOCK_URL=http://127.0.0.1:34567 node --import ./preload.mjs your-app.mjs
//
// Works for fetch(string | URL, init) and fetch(Request, init). Every other URL
// goes to the real fetch untouched. If WIX_MOCK_URL is unset the process stops
// at startup, so a missing variable can never send test secrets to the real Wix.
// This module exports nothing.

const WIX_HOSTS = new Set(['www.wixapis.com', 'edge.wixapis.com', 'www.wix.com']);
const MARK = Symbol.for('wix-oauth-mock.fetch-rewrite');

const rawBase = process.env.WIX_MOCK_URL;
if (!rawBase) {
  throw new Error('preload.mjs: set WIX_MOCK_URL to the mock base URL, e.g. http://127.0.0.1:34567');
}
const base = new URL(rawBase);
// A base such as http://host:port/prefix/ keeps its prefix in front of each path.
const basePath = base.pathname.replace(/\/+$/, '');

/** Returns the mock URL for a Wix URL, or null when the URL is not a Wix host. */
function rewrite(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null; // not absolute: leave it to the real fetch to reject
  }
  if (!WIX_HOSTS.has(parsed.hostname)) return null;
  const target = new URL(base.origin);
  target.pathname = basePath + parsed.pathname;
  target.search = parsed.search;
  return target.toString();
}

const realFetch = globalThis.fetch;

if (!realFetch[MARK]) {
  const wrapped = function fetch(input, init) {
    if (input instanceof Request) {
      const target = rewrite(input.url);
      if (target === null) return realFetch(input, init);
      // new Request(url, request) copies method, headers, body, redirect and signal.
      return realFetch(new Request(target, input), init);
    }
    const target = rewrite(input instanceof URL ? input.href : String(input));
    return realFetch(target ?? input, init);
  };
  wrapped[MARK] = { base: base.toString() };
  globalThis.fetch = wrapped;
}

// `import 'wix-oauth-mock/register'` (or `node --import wix-oauth-mock/register`): sends the `fetch`
// calls of this process for Wix's hosts to wix-oauth-mock.
//
// @wix/sdk hard-codes its hosts (www.wixapis.com for /oauth/access and /oauth2/*, www.wix.com for
// the installer, edge.wixapis.com for module calls made with OAuthStrategy), with no option to change
// the auth URLs. This module wraps globalThis.fetch and rewrites requests for those three hosts to
// WIX_MOCK_URL, keeping path, query, method, headers and body. A base URL with a path (such as
// http://127.0.0.1:8787/__ns/suite-a) keeps its path in front of each request's path.
//
// WIX_MOCK_URL unset stops the process at import: a missing variable must never send test secrets
// to the real Wix. Importing it twice wraps fetch once. It exports nothing; the base URL in use is
// readable as globalThis.fetch[Symbol.for('wix-oauth-mock.fetch-rewrite')].base.

const WIX_HOSTS = new Set(['www.wixapis.com', 'edge.wixapis.com', 'www.wix.com']);
const MARK = Symbol.for('wix-oauth-mock.fetch-rewrite');

const rawBase = process.env.WIX_MOCK_URL;
if (!rawBase) {
  throw new Error(
    'wix-oauth-mock/register: set WIX_MOCK_URL to the mock base URL, e.g. http://127.0.0.1:8787',
  );
}
const base = new URL(rawBase);
const basePath = base.pathname.replace(/\/+$/, '');

/** The mock URL for a Wix URL, or null when the URL is not one of Wix's hosts. */
function rewrite(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null; // not absolute: the real fetch rejects it
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

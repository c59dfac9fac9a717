//! Redirect hygiene (issue 18): the one check for every URL the mock sends a browser to or posts to.
//!
//! The installer's redirect, the App URL of the App Market click, the member-login callback, the
//! logout `postFlowUrl` and webhook URLs all pass through [`check`] and then through a comparison with
//! what was registered ([`matches_exactly`], [`host_allowed`], [`origin_allowed`]). The raw text is
//! judged, not only the parsed URL: the routes echo the string they were given into `Location`, and
//! parsers disagree on backslashes, tabs and missing slashes (WHATWG `url` reads `http://a\@b/` as host
//! `a`, Python's urllib as host `b`), so anything two parsers could read differently is refused.
//!
//! Pure: imports nothing from `routes/` or warp, so the domain can call it under the world's lock.

use url::Url;

/// Longer URLs are refused: no registered redirect is anywhere near this, and `Location` has limits.
pub const MAX_URL_LEN: usize = 4096;

/// Why a URL is not one the mock will redirect or post to. `Display` is the message users see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unsafe {
    #[error("the URL is empty or longer than {MAX_URL_LEN} bytes")]
    Length,
    #[error("the URL contains a control character, a space or a non-ASCII character")]
    Control,
    #[error("the URL contains a backslash")]
    Backslash,
    #[error("the URL must start with http:// or https://")]
    Scheme,
    #[error("the URL is not a valid absolute URL")]
    Malformed,
    #[error("the URL carries a user name or password")]
    UserInfo,
    #[error("the URL has no host")]
    NoHost,
    #[error("the URL is not registered for this app")]
    NotRegistered,
}

/// The raw-text rules shared by [`check`] and [`check_registered`]: length, no control characters,
/// spaces or non-ASCII (browsers and `url` silently strip tabs and newlines), no backslash.
fn raw_rules(raw: &str) -> Result<(), Unsafe> {
    if raw.is_empty() || raw.len() > MAX_URL_LEN {
        return Err(Unsafe::Length);
    }
    if raw.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err(Unsafe::Control);
    }
    if raw.contains('\\') {
        return Err(Unsafe::Backslash);
    }
    Ok(())
}

/// Parses `raw` and refuses userinfo and missing hosts.
fn parse_authority(raw: &str) -> Result<Url, Unsafe> {
    let url = Url::parse(raw).map_err(|_| Unsafe::Malformed)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Unsafe::UserInfo);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Unsafe::NoHost);
    }
    Ok(url)
}

/// An absolute `http(s)` URL that every parser reads the same way: written `http://` or `https://`
/// (so `http:evil.example` and `http:/evil.example` are refused), printable ASCII only, no backslash,
/// no userinfo, a host. Returns the parsed URL; callers still compare it with what was registered.
pub fn check(raw: &str) -> Result<Url, Unsafe> {
    raw_rules(raw)?;
    let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(Unsafe::Scheme);
    }
    parse_authority(raw)
}

/// Like [`check`] for a URI registered *exactly* (a Headless app's `allowedRedirectUris`): besides
/// `http(s)`, a private-use scheme as RFC 8252 §7.1 gives native apps (a reverse domain name such as
/// `com.example.app:/callback`, which must contain a dot) is accepted, so `javascript:`, `data:`,
/// `file:` or `ftp:` never are.
pub fn check_registered(raw: &str) -> Result<Url, Unsafe> {
    match check(raw) {
        Err(Unsafe::Scheme) => {}
        other => return other,
    }
    raw_rules(raw)?;
    let url = Url::parse(raw).map_err(|_| Unsafe::Malformed)?;
    if !url.scheme().contains('.') {
        return Err(Unsafe::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Unsafe::UserInfo);
    }
    Ok(url)
}

/// `raw` passes [`check`] and is, byte for byte, one of `registered` (how Wix matches redirect URLs).
pub fn matches_exactly(raw: &str, registered: &[String]) -> Result<Url, Unsafe> {
    let url = check(raw)?;
    if registered.iter().any(|r| r == raw) {
        Ok(url)
    } else {
        Err(Unsafe::NotRegistered)
    }
}

/// Whether `url`'s host (and port) is one of `domains`. An entry `host` allows any port of that host;
/// an entry `host:port` only that port (the default port of the scheme when the URL names none).
/// Host names compare without regard to case, as DNS does.
pub fn host_allowed(url: &Url, domains: &[String]) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let port = url.port_or_known_default();
    domains.iter().any(|entry| {
        // Parse the entry the way the URL was parsed, so IPv6 brackets and case agree.
        let Ok(e) = Url::parse(&format!("{}://{}/", url.scheme(), entry.trim())) else {
            return false;
        };
        let same_host = e.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host));
        let same_port = e.port().is_none() || e.port_or_known_default() == port;
        same_host && same_port
    })
}

/// Whether a `web_message` response may be posted to the window of `origin` (`scheme://host[:port]`,
/// as a browser sends it): it must be a clean http(s) origin and the origin of one of the registered
/// redirect URIs, or a host allowed by `domains`.
pub fn origin_allowed(origin: &str, registered: &[String], domains: &[String]) -> bool {
    let Ok(url) = check(origin) else {
        return false;
    };
    // An origin has no path, query or fragment.
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return false;
    }
    let wanted = url.origin();
    registered
        .iter()
        .filter_map(|r| check(r).ok())
        .any(|r| r.origin() == wanted)
        || host_allowed(&url, domains)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn check_refuses_every_attack_url_of_issue_18() {
        let cases = [
            ("javascript://localhost/%0aalert(1)", Unsafe::Scheme),
            ("ftp://localhost/file", Unsafe::Scheme),
            ("http://localhost\\@evil.example/", Unsafe::Backslash),
            ("http://user:pw@localhost/", Unsafe::UserInfo),
            ("http://evil.example@localhost/", Unsafe::UserInfo),
            ("http://local\thost/", Unsafe::Control),
            ("http://localhost/\nSet-Cookie:x", Unsafe::Control),
            (" http://localhost/", Unsafe::Control),
            ("http:evil.example", Unsafe::Scheme),
            ("http:/evil.example", Unsafe::Scheme),
            ("//evil.example/", Unsafe::Scheme),
            ("data:text/html,<script>", Unsafe::Scheme),
            ("http://l\u{f6}calhost/", Unsafe::Control),
            ("http:///", Unsafe::Malformed),
            ("", Unsafe::Length),
        ];
        for (raw, why) in cases {
            assert_eq!(check(raw).map(|_| ()), Err(why), "{raw:?}");
        }
        assert!(check(&format!("http://a/{}", "x".repeat(MAX_URL_LEN))).is_err());
    }

    #[test]
    fn check_accepts_plain_http_and_https_urls_in_any_case() {
        for ok in [
            "http://localhost:3000/callback",
            "HTTPS://Example.com/a?b=c#d",
            "http://127.0.0.1:9/harness/oauth-callback",
            "http://[::1]:8080/",
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn registered_uris_may_use_a_reverse_domain_scheme_but_never_script_schemes() {
        assert!(check_registered("com.example.app:/callback").is_ok());
        assert!(check_registered("http://localhost:3000/callback").is_ok());
        for bad in [
            "javascript:alert(1)",
            "myapp://cb",
            "data:text/html,x",
            "com.example.app://u@h/",
        ] {
            assert!(check_registered(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hosts_are_matched_by_name_and_by_port_when_the_entry_names_one() {
        let u = |s: &str| Url::parse(s).unwrap();
        let domains = list(&["localhost", "app.example:8443"]);
        assert!(host_allowed(&u("http://LOCALHOST:1234/x"), &domains));
        assert!(host_allowed(&u("https://app.example:8443/"), &domains));
        assert!(!host_allowed(&u("https://app.example/"), &domains));
        assert!(!host_allowed(
            &u("http://localhost.evil.example/"),
            &domains
        ));
        assert!(!host_allowed(&u("http://evil.example/"), &domains));
        assert!(host_allowed(
            &u("https://app.example/"),
            &list(&["app.example:443"])
        ));
    }

    #[test]
    fn web_message_origins_must_be_registered_origins() {
        let uris = list(&["http://localhost:3000/callback"]);
        assert!(origin_allowed("http://localhost:3000", &uris, &[]));
        assert!(!origin_allowed("http://localhost:3001", &uris, &[]));
        assert!(!origin_allowed("null", &uris, &[]));
        assert!(!origin_allowed("http://localhost:3000/x", &uris, &[]));
        assert!(origin_allowed(
            "http://localhost:3001",
            &uris,
            &list(&["localhost"])
        ));
    }

    #[test]
    fn exact_matching_is_byte_for_byte() {
        let reg = list(&["http://localhost:3000/cb"]);
        assert!(matches_exactly("http://localhost:3000/cb", &reg).is_ok());
        assert_eq!(
            matches_exactly("http://localhost:3000/cb/", &reg).map(|_| ()),
            Err(Unsafe::NotRegistered)
        );
    }
}
